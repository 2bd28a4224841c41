// nicperf-nicd end to end, on both backends (TAP; veths with AF_XDP sockets): namespaces,
// devices, a verified test through the emulated NIC, its counters against nicperf's bytes and
// the veths' own counters, live coalescing changes, and nothing left after down or a crash.
// Needs root (namespaces, taps, XDP); skips with the reason otherwise.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "harness.hpp"
#include "nic_harness.hpp"
#include "nicperf/util/netns.hpp"

using namespace harness;
using namespace nic_harness;

namespace {

struct Backend {
  const char* name;
  std::vector<std::string> up;  // what `up` needs for it
  // The share of frames the NIC may drop: a TAP holds frames back in its queue; AF_XDP's RX
  // ring drops what finds no room, as a NIC's does, when the queue thread is late (its 4096
  // entries make that rare on a busy 2-CPU machine, not impossible).
  double drop_share;
};
const Backend kTap{"tap", {}, 0};
const Backend kXdp{"xdp", kXdpUp, 0.01};

std::string run_out(std::vector<std::string> argv) {
  std::string bin = argv.front();
  argv.erase(argv.begin());
  Proc p(bin, argv);
  p.wait(20);
  return p.out();
}

// Root, and for xdp a nicperf-nicd built with libxdp; says why not otherwise.
bool can_run(const Backend& b) {
  if (!have_root()) return false;
  return std::string(b.name) == "tap" || have_xdp_backend();
}

const nlohmann::json& forward_total(const nlohmann::json& report) {
  return report["end"]["nic"]["directions"]["cli_to_srv"]["total"];
}

void verified_test(const Backend& b) {
  if (!can_run(b)) return;
  Nic nic;
  REQUIRE(nic.up(b.up));
  struct stat st {};
  REQUIRE(stat(nic.socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto report = run_test(nic, {"-t", "3", "--verify"});
  REQUIRE(report["end"].contains("nic"));
  check_schema(report);
  const auto& fwd = forward_total(report);
  auto received = report["end"]["sum_received"]["bytes"].get<std::uint64_t>();
  auto nic_bytes = fwd["bytes"].get<std::uint64_t>();
  auto segments = fwd["wire_segments"].get<std::uint64_t>();
  // Every payload byte crossed the NIC once, in frames whose headers (Ethernet, IPv4, TCP with
  // options) make up the difference: at most 14 + 60 + 60 bytes per wire segment.
  CHECK(nic_bytes >= received);
  CHECK(nic_bytes <= received + segments * 134 + 1'000'000);
  CHECK(segments >= fwd["frames"].get<std::uint64_t>());
  CHECK(fwd["interrupts"].get<std::uint64_t>() > 0);
  CHECK(fwd["drops"].get<double>() <= b.drop_share * fwd["frames"].get<double>());
  const auto& q0 = report["end"]["nic"]["directions"]["cli_to_srv"]["queues"][0];
  // The daemon reads its counters while ACKs still cross: allow a few frames of skew.
  auto near = [](const nlohmann::json& x, const nlohmann::json& y) {
    return std::llabs(x.get<long long>() - y.get<long long>()) <= 16;
  };
  CHECK(near(q0["frames_per_interrupt"]["count"], q0["interrupts"]));
  CHECK(near(q0["residence_ns"]["count"], q0["frames"]));

  REQUIRE(nic.ctl({"set", "rx-usecs=0", "rx-frames=1"}) == 0);
  auto per_frame = run_test(nic, {"-t", "2"});
  CHECK(forward_total(per_frame)["frames_per_interrupt_mean"].get<double>() == 1.0);
  REQUIRE(nic.ctl({"set", "rx-usecs=2000", "rx-frames=16"}) == 0);
  auto batched = run_test(nic, {"-t", "2"});
  CHECK(forward_total(batched)["frames_per_interrupt_mean"].get<double>() > 4.0);
  CHECK(batched["end"]["nic"]["settings"]["rx-frames"] == 16);

  REQUIRE(nic.ctl({"down"}) == 0);
  CHECK(nic.daemon->wait(10) == 0);
  CHECK_FALSE(nicperf::netns_exists(nic.cli));
  CHECK_FALSE(nicperf::netns_exists(nic.srv));
  CHECK_FALSE(nicperf::netns_exists(nic.cli + "-nicd"));
  CHECK(access(nic.socket.c_str(), F_OK) != 0);
}

void garbage_test(const Backend& b) {
  if (!can_run(b)) return;
  Nic nic;
  REQUIRE(nic.up(b.up));
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", nic.socket.c_str());
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string junk =
      "not json\n{\"cmd\":\"explode\"}\n{\"cmd\":\"set\",\"settings\":{\"ring\":1}}\n";
  REQUIRE(write(fd, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
  std::string replies;
  char buf[4096];
  while (std::count(replies.begin(), replies.end(), '\n') < 3) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    replies.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  CHECK(std::count(replies.begin(), replies.end(), '\n') == 3);
  CHECK(replies.find("\"ok\":true") == std::string::npos);
  CHECK(replies.find("unknown command 'explode'") != std::string::npos);
  CHECK(replies.find("ring takes 64 to 4096") != std::string::npos);
  CHECK(nic.ctl({"stats"}) == 0);
  CHECK(nic.ctl({"set", "bogus=1"}) == 2);
}

// The id of the XDP program on `dev` in namespace `ns` ("prog/xdp id N" in ip link), or "".
std::string xdp_prog_id(const std::string& ns, const std::string& dev) {
  std::string out = run_out({"/usr/sbin/ip", "-n", ns, "link", "show", dev});
  auto at = out.find("prog/xdp id ");
  if (at == std::string::npos) return "";
  at += 12;
  return out.substr(at, out.find(' ', at) - at);
}

// Programs are freed after their namespace, lazily: give the kernel up to 5 s.
bool prog_gone(const std::string& id) {
  for (int i = 0; i < 50; ++i) {
    if (run_out({"/usr/sbin/bpftool", "prog", "show", "id", id}).find(id + ":") ==
        std::string::npos)
      return true;
    usleep(100'000);
  }
  return false;
}

void crash_test(const Backend& b) {
  if (!can_run(b)) return;
  Nic nic;
  REQUIRE(nic.up(b.up));
  bool xdp = std::string(b.name) == "xdp";
  std::string crashed_prog = xdp ? xdp_prog_id(nic.cli + "-nicd", "nicd-cli") : "";
  nic.daemon->signal(SIGKILL);
  nic.daemon->wait(5);
  CHECK(nicperf::netns_exists(nic.cli));  // what a crash leaves: the namespaces, the socket
  REQUIRE(nic.up(b.up));
  CHECK(nic.ctl({"info"}) == 0);
  if (!xdp) return;
  // One XDP program on each nicd-side veth while up; the crashed daemon's and this one's gone
  // after down. Only these ids are looked at: other XDP users of the host are not ours.
  std::string prog = xdp_prog_id(nic.cli + "-nicd", "nicd-cli");
  REQUIRE_FALSE(crashed_prog.empty());
  REQUIRE_FALSE(prog.empty());
  CHECK(prog != crashed_prog);
  CHECK(prog_gone(crashed_prog));
  REQUIRE(nic.ctl({"down"}) == 0);
  CHECK(nic.daemon->wait(10) == 0);
  CHECK_FALSE(nicperf::netns_exists(nic.cli + "-nicd"));
  CHECK(prog_gone(prog));
}

// RSS over two queues: sixteen flows (all on one queue by chance: 2 in 65536) spread over both
// receive queues, each direction; the replies hash as their flow's data, so the ACK direction
// spreads too. Everything still arrives, and the device drops stay within the backend's share.
void rss_test(const Backend& b) {
  if (!can_run(b)) return;
  Nic nic;
  std::vector<std::string> up = b.up;
  up.insert(up.end(), {"--queues", "2"});
  REQUIRE(nic.up(up));
  auto report = run_test(nic, {"-t", "2", "-P", "16"});
  REQUIRE(report["end"].contains("nic"));
  CHECK(report["end"]["sum_received"]["bytes"].get<std::uint64_t>() > 0);
  for (const char* dir : {"cli_to_srv", "srv_to_cli"}) {
    const auto& queues = report["end"]["nic"]["directions"][dir]["queues"];
    REQUIRE(queues.size() == 2);
    for (const auto& q : queues) {
      INFO(dir << " queue " << q["queue"]);
      CHECK(q["frames"].get<std::uint64_t>() > 0);
    }
  }
  const auto& fwd = forward_total(report);
  CHECK(fwd["drops"].get<double>() <= b.drop_share * fwd["frames"].get<double>());
}

}  // namespace

TEST_CASE("nicd: RSS spreads sixteen flows over two queues in both directions" *
          doctest::test_suite("root")) {
  rss_test(kTap);
}

TEST_CASE("nicd xdp: RSS spreads sixteen flows over two queues in both directions" *
          doctest::test_suite("root")) {
  rss_test(kXdp);
}

TEST_CASE("nicd: a verified test through the NIC, its counters, live coalescing, clean down" *
          doctest::test_suite("root")) {
  verified_test(kTap);
}

TEST_CASE("nicd: the control socket survives garbage and answers with one error line" *
          doctest::test_suite("root")) {
  garbage_test(kTap);
}

TEST_CASE("nicd: after a crash, the next up clears the leftovers" * doctest::test_suite("root")) {
  crash_test(kTap);
}

TEST_CASE("nicd xdp: a verified test (--tso off --gro off), counters, live coalescing, clean down" *
          doctest::test_suite("root")) {
  verified_test(kXdp);
}

TEST_CASE("nicd xdp: the control socket survives garbage and answers with one error line" *
          doctest::test_suite("root")) {
  garbage_test(kXdp);
}

TEST_CASE("nicd xdp: after a crash, the next up clears the leftovers" *
          doctest::test_suite("root")) {
  crash_test(kXdp);
}

namespace {

struct VethCounts {
  std::uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
};

VethCounts veth_counts(const std::string& ns, const std::string& dev) {
  auto j = nlohmann::json::parse(
      run_out({"/usr/sbin/ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev}), nullptr, false);
  if (!j.is_array() || j.empty()) return {};
  const auto& s = j[0]["stats64"];
  return {s["rx"]["packets"].get<std::uint64_t>(), s["tx"]["packets"].get<std::uint64_t>(),
          s["rx"]["bytes"].get<std::uint64_t>(), s["tx"]["bytes"].get<std::uint64_t>()};
}

}  // namespace

// The NIC's counters against the kernel's: every frame the client's veth handed over arrived
// on nicd's client-side veth (its XDP counters), and every frame the NIC delivered left through
// its server-side veth; the bytes too, since both count whole Ethernet frames.
TEST_CASE("nicd xdp: NIC counters agree with the nicd-side veths' own packet and byte counters" *
          doctest::test_suite("root")) {
  if (!can_run(kXdp)) return;
  Nic nic;
  REQUIRE(nic.up(kXdp.up));
  std::string ns = nic.cli + "-nicd";
  Server server({"--netns", nic.srv});
  REQUIRE(server.port() > 0);
  REQUIRE(nic.ctl({"reset"}) == 0);
  VethCounts cli0 = veth_counts(ns, "nicd-cli"), srv0 = veth_counts(ns, "nicd-srv");
  Proc client({"-c", "198.18.0.2", "-p", server.port_arg(), "--netns", nic.cli, "-t", "2", "-J",
               "--cost", "off"});
  REQUIRE(client.wait(60) == 0);
  Proc stats(NICPERF_NICD_BIN, {"--socket", nic.socket, "stats", "--json"});
  REQUIRE(stats.wait(15) == 0);
  VethCounts cli1 = veth_counts(ns, "nicd-cli"), srv1 = veth_counts(ns, "nicd-srv");
  auto j = stats.json();
  std::uint64_t in = 0, out = 0, out_bytes = 0, not_out = 0;
  for (const auto& q : j["directions"]["cli_to_srv"]) {
    out += q["frames"].get<std::uint64_t>();
    out_bytes += q["bytes"].get<std::uint64_t>();
    not_out += q["lost"].get<std::uint64_t>() + q["drops"].get<std::uint64_t>();
    in += q["frames"].get<std::uint64_t>() + q["lost"].get<std::uint64_t>() +
          q["drops"].get<std::uint64_t>();
  }
  INFO(j.dump());
  MESSAGE("c2s: NIC took " << in << ", nicd-cli received " << cli1.rx_packets - cli0.rx_packets
                           << "; NIC delivered " << out << ", nicd-srv sent "
                           << srv1.tx_packets - srv0.tx_packets);
  CHECK(in > 10000);
  // Frames read between the two counter reads (a stray ACK or neighbour probe) make a few.
  CHECK(std::llabs(static_cast<long long>(cli1.rx_packets - cli0.rx_packets) -
                   static_cast<long long>(in)) <= 16);
  CHECK(std::llabs(static_cast<long long>(srv1.tx_packets - srv0.tx_packets) -
                   static_cast<long long>(out)) <= 16);
  auto near_bytes = [](std::uint64_t a, std::uint64_t b, std::uint64_t frames) {
    return std::llabs(static_cast<long long>(a - b)) <= static_cast<long long>(frames * 1514);
  };
  MESSAGE("c2s bytes: NIC delivered " << out_bytes << ", nicd-cli received "
                                      << cli1.rx_bytes - cli0.rx_bytes << " (after 14-byte headers)"
                                      << ", nicd-srv sent " << srv1.tx_bytes - srv0.tx_bytes);
  CHECK(out_bytes > 10'000'000);
  CHECK(near_bytes(srv1.tx_bytes - srv0.tx_bytes, out_bytes, 16));
  // The receiving veth counts a frame after its Ethernet header (eth_type_trans pulled it),
  // the sending one whole. Frames the NIC did not deliver have no byte count of their own: at
  // most an MTU frame each.
  std::uint64_t received = cli1.rx_bytes - cli0.rx_bytes + 14 * (cli1.rx_packets - cli0.rx_packets);
  CHECK(near_bytes(received, out_bytes, 16 + not_out));
}
