// Interoperation with Debian's stock iperf3 (installed by ./run): both tools must agree on
// the byte counts exactly.
#include <doctest/doctest.h>
#include <unistd.h>

#include "harness.hpp"

using harness::have_iperf3;
using harness::kIperf3;
using harness::Proc;
using nlohmann::json;

namespace {

struct Iperf3Server {
  int port = harness::free_port();
  Proc proc{kIperf3, {"-s", "-p", std::to_string(port), "--forceflush"}};
  Iperf3Server() { REQUIRE(harness::wait_for_output(proc, "Server listening")); }
  std::unique_ptr<Proc> nicperf(std::vector<std::string> extra) {
    std::vector<std::string> args = {"-c", "127.0.0.1", "-p", std::to_string(port), "--iperf3"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<Proc>(args);
    p->wait(60);
    return p;
  }
};

void agree(const json& j, std::uint64_t want = 0) {
  REQUIRE(j.is_object());
  CHECK_FALSE(j.contains("error"));
  auto sent = j["end"]["sum_sent"]["bytes"].get<std::uint64_t>();
  auto got = j["end"]["sum_received"]["bytes"].get<std::uint64_t>();
  CHECK(sent > 0);
  CHECK(sent == got);  // one side is nicperf's count, the other iperf3's
  if (want) CHECK(sent == want);
  CHECK(j["remote_context"]["implementation"] == "iperf3");
}

}  // namespace

TEST_CASE("nicperf --iperf3 against a stock iperf3 server: -n, -P, -t, -R and send paths") {
  if (!have_iperf3()) return;
  Iperf3Server s;
  auto n = s.nicperf({"-n", "10000019", "-P", "4", "-J"});
  CHECK(n->wait(0) == 0);
  agree(n->json(), 10000019);
  for (const char* mode : {"sendfile", "zerocopy", "uring"}) {
    CAPTURE(mode);
    auto m = s.nicperf({"-n", "20M", "--mode", mode, "-J"});
    CHECK(m->wait(0) == 0);
    agree(m->json(), 20u << 20);
  }
  auto t = s.nicperf({"-t", "2", "-J"});
  CHECK(t->wait(0) == 0);
  agree(t->json());
  auto r = s.nicperf({"-t", "2", "-R", "-P", "2", "-J"});
  CHECK(r->wait(0) == 0);
  agree(r->json());
  // --bidir: what nicperf receives agrees exactly. The other way, iperf3 3.12 (one thread, busy
  // sending) may still have unread bytes in its socket when TEST_END makes it stop counting,
  // so its count can only be at most ours.
  auto bidir = s.nicperf({"-t", "2", "--bidir", "-P", "2", "-J"});
  CHECK(bidir->wait(0) == 0);
  json b = bidir->json();
  REQUIRE(b.is_object());
  CHECK_FALSE(b.contains("error"));
  CHECK(b["end"]["sum_sent_bidir_reverse"]["bytes"] ==
        b["end"]["sum_received_bidir_reverse"]["bytes"]);
  CHECK(b["end"]["sum_sent_bidir_reverse"]["bytes"].get<std::uint64_t>() > 0);
  CHECK(b["end"]["sum_received"]["bytes"].get<std::uint64_t>() <=
        b["end"]["sum_sent"]["bytes"].get<std::uint64_t>());
  CHECK(b["end"]["sum_received"]["bytes"].get<std::uint64_t>() > 0);
  auto text = s.nicperf({"-t", "1", "--get-server-output"});
  CHECK(text->wait(0) == 0);
  CHECK(text->out().find("as iperf3 reports it") != std::string::npos);
  CHECK(text->out().find("Server output:") != std::string::npos);
}

TEST_CASE("what iperf3 cannot do is refused up front, with the reason" *
          doctest::test_suite("parallel")) {
  Proc c({"-c", "127.0.0.1", "--iperf3", "--verify", "-n", "1M"});
  CHECK(c.wait(10) == 2);
  CHECK(c.err().find("iperf3 mode cannot run --verify") != std::string::npos);
}

TEST_CASE("a stock iperf3 client against nicperf -s: -t, -n, -P, -R, server output, busy") {
  if (!have_iperf3()) return;
  harness::Server s;
  auto iperf3 = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"-c", "127.0.0.1", "-p", s.port_arg()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<Proc>(kIperf3, args);
    p->wait(60);
    return p;
  };
  auto json_of = [](Proc& p) { return json::parse(p.out(), nullptr, false); };
  for (auto args : std::vector<std::vector<std::string>>{{"-t", "2", "-J"},
                                                         {"-n", "10000019", "-P", "3", "-J"},
                                                         {"-t", "2", "-R", "-P", "2", "-J"},
                                                         {"-t", "2", "--bidir", "-P", "2", "-J"}}) {
    CAPTURE(args[0] + " " + args[1]);
    auto c = iperf3(args);
    CHECK(c->wait(0) == 0);
    json j = json_of(*c);
    REQUIRE(j.is_object());
    CHECK_FALSE(j.contains("error"));
    auto sent = j["end"]["sum_sent"]["bytes"].get<std::uint64_t>();
    CHECK(sent > 0);
    CHECK(sent == j["end"]["sum_received"]["bytes"].get<std::uint64_t>());
    // --bidir: nicperf (receiving) counts exactly; iperf3 (receiving while it also sends from
    // its one thread) may stop counting with unread bytes in its socket, so at most ours.
    if (j["end"].contains("sum_sent_bidir_reverse"))
      CHECK(j["end"]["sum_received_bidir_reverse"]["bytes"].get<std::uint64_t>() <=
            j["end"]["sum_sent_bidir_reverse"]["bytes"].get<std::uint64_t>());
  }
  auto out = iperf3({"-t", "1", "--get-server-output"});
  CHECK(out->wait(0) == 0);
  CHECK(out->out().find("Accepted connection from 127.0.0.1") != std::string::npos);
  // A second iperf3 client while a test runs is told the server is busy.
  Proc first(kIperf3, {"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "3"});
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto busy = iperf3({"-t", "1"});
  CHECK(busy->wait(0) != 0);
  CHECK((busy->out() + busy->err()).find("busy") != std::string::npos);
  CHECK(first.wait(20) == 0);
  // What nicperf cannot serve is refused, and the next client is served.
  auto sctp = iperf3({"--sctp", "-t", "1"});
  CHECK(sctp->wait(0) != 0);
  auto after = iperf3({"-n", "1M", "-J"});
  CHECK(after->wait(0) == 0);
}

// With -O each tool cuts the omitted seconds at its own clock, as two iperf3s do too (they
// agreed within 0.03% here): the counts agree closely, not exactly. Before the fix nicperf
// took the omitted bytes out of an iperf3 server's count a second time (0.51 of the sent).
TEST_CASE("-O: nicperf and iperf3 agree on the measured bytes in both directions") {
  if (!have_iperf3()) return;
  auto ratio = [](const json& j) {
    REQUIRE(j.is_object());
    CHECK_FALSE(j.contains("error"));
    double sent = j["end"]["sum_sent"]["bytes"].get<double>();
    double got = j["end"]["sum_received"]["bytes"].get<double>();
    REQUIRE(sent > 0);
    return got / sent;
  };
  Iperf3Server s;
  auto n = s.nicperf({"-t", "2", "-O", "1", "-J", "--cost", "off"});
  CHECK(n->wait(0) == 0);
  double to_iperf3 = ratio(n->json());
  CHECK(to_iperf3 > 0.95);
  CHECK(to_iperf3 < 1.05);
  harness::Server ours;
  Proc client(kIperf3, {"-c", "127.0.0.1", "-p", ours.port_arg(), "-t", "2", "-O", "1", "-J"});
  CHECK(client.wait(60) == 0);
  double from_iperf3 = ratio(json::parse(client.out(), nullptr, false));
  CHECK(from_iperf3 > 0.95);
  CHECK(from_iperf3 < 1.05);
  MESSAGE("received/sent with -O 1: nicperf->iperf3 " << to_iperf3 << ", iperf3->nicperf "
                                                      << from_iperf3);
}
