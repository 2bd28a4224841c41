// NAPI and softnet per side (#15): a loopback UDP test's datagrams pass each CPU's backlog, so
// the softnet `processed` deltas move, and both sides report them (the server's through the
// results exchange); through nicperf-nicd, the NAPI packet counts against the NIC's frames.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "harness.hpp"
#include "nic_harness.hpp"

using harness::Server;
using harness::u64;
using nlohmann::json;

TEST_CASE("softnet: a loopback UDP test's processed delta shows on both sides" *
          doctest::test_suite("root")) {
  if (geteuid() != 0) {
    MESSAGE("skipping: the root suite runs the cost collector at its full level; run as root");
    return;
  }
  if (access("/proc/net/softnet_stat", R_OK) != 0) {
    MESSAGE("skipping: no /proc/net/softnet_stat");
    return;
  }
  Server s;
  REQUIRE(s.port() > 0);
  auto c = s.client({"-u", "-b", "20M", "-t", "2", "-l", "1000", "-J"});
  INFO(c->err());
  REQUIRE(c->wait(0) == 0);
  json j = c->json();
  std::uint64_t received = j["end"]["sum_received"]["bytes"].get<std::uint64_t>() / 1000;
  CHECK(received > 1000);
  for (const char* side : {"client", "server"}) {
    CAPTURE(side);
    const json& cost = j["end"]["cost"][side];
    REQUIRE(cost.contains("softnet"));
    std::uint64_t processed = 0;
    for (const auto& cpu : cost["softnet"]) {
      CHECK(cpu["cpu"].get<int>() >= 0);
      processed += cpu["processed"].get<std::uint64_t>();
    }
    // Every datagram delivered went through a backlog once in the window (within its edges);
    // other traffic on the host only adds.
    CHECK(processed > 0);
    CHECK(double(processed) >= 0.9 * double(received));
  }
  nic_harness::check_schema(j);
  auto text = s.client({"-u", "-b", "10M", "-t", "1", "-l", "1000"});
  REQUIRE(text->wait(0) == 0);
  CHECK(text->out().find("NAPI/softnet, client (sender):\n") != std::string::npos);
  CHECK(text->out().find("NAPI/softnet, server (receiver):\n") != std::string::npos);
}

namespace {

// Two counts of the same frames, read at different edges of about the same window.
bool close_counts(std::uint64_t a, std::uint64_t b) {
  auto diff = static_cast<double>(a > b ? a - b : b - a);
  return diff <= 64 + 0.01 * static_cast<double>(std::max(a, b));
}

}  // namespace

// The truth checks through nicperf-nicd's xdp backend, where the NIC's own veths run NAPI: every
// frame nicd's AF_XDP socket took was first polled on nicd-cli, the ACKs on nicd-srv, and each
// CPU's softnet `processed` lies between its backlog polls and all its NAPI packets (kernels
// differ in whether device NAPI's skbs count there too; XDP-redirected frames never do).
// The NIC's counters are read after the results exchange, the collector's maps when the streams
// end: a small socket buffer (-w) keeps the data still queued at that edge to a few dozen frames
// (with the default buffers a loaded machine left 800 frames in it, 1.3%).
// `napi_prog`: "raw" (the default, raw_tp with the device's name through BTF) or "tracepoint"
// (the classic tracepoint kernels without BTF get), as NICPERF_BPF_NAPI chooses.
void napi_through_nicd(const std::string& napi_prog) {
  if (!nic_harness::have_root() || !nic_harness::have_xdp_backend()) return;
  nic_harness::Nic nic;
  REQUIRE(nic.up(nic_harness::kXdpUp));
  Server server({"--netns", nic.srv});
  REQUIRE(server.port() > 0);
  setenv("NICPERF_BPF_NAPI", napi_prog.c_str(), 1);  // the client only: it reads the NAPI here
  harness::Proc client({"-c", "198.18.0.2", "-p", server.port_arg(), "--netns", nic.cli, "--nic",
                        nic.socket, "-t", "2", "-w", "128K", "-J", "--cost", "bpf"});
  unsetenv("NICPERF_BPF_NAPI");
  INFO(client.err());
  REQUIRE(client.wait(60) == 0);
  json j = client.json();
  const json& cost = j["end"]["cost"]["client"];
  if (cost["level"] != "bpf") {
    MESSAGE("skipping: the bpf level cannot run here: " << cost["reason"].get<std::string>());
    return;
  }
  std::map<std::string, std::uint64_t> by_dev;
  std::map<int, std::uint64_t> backlog, all;
  for (const auto& n : cost["napi"]) {
    std::string dev = n["dev"];
    by_dev[dev] += u64(n, "packets");
    all[n["cpu"].get<int>()] += u64(n, "packets");
    if (dev == "(no_device)") backlog[n["cpu"].get<int>()] += u64(n, "packets");
  }
  auto taken = [&](const char* dir) {
    const json& t = j["end"]["nic"]["directions"][dir]["total"];
    return u64(t, "frames") + u64(t, "lost") + u64(t, "drops");
  };
  MESSAGE("NAPI on nicd-cli " << by_dev["nicd-cli"] << ", NIC took " << taken("cli_to_srv")
                              << "; on nicd-srv " << by_dev["nicd-srv"] << ", NIC took "
                              << taken("srv_to_cli"));
  CHECK(taken("cli_to_srv") > 10000);
  CHECK(close_counts(by_dev["nicd-cli"], taken("cli_to_srv")));
  CHECK(close_counts(by_dev["nicd-srv"], taken("srv_to_cli")));
  for (const auto& cpu : cost["softnet"]) {
    int n = cpu["cpu"].get<int>();
    CAPTURE(n);
    std::uint64_t processed = u64(cpu, "processed");
    CHECK(processed + 64 + backlog[n] / 100 >= backlog[n]);
    CHECK(processed <= all[n] + 64 + all[n] / 100);
  }
}

TEST_CASE("napi: through nicd, NAPI packets match the NIC's frames and softnet's processed" *
          doctest::test_suite("root")) {
  napi_through_nicd("raw");
}

TEST_CASE("napi: the classic napi_poll tracepoint (kernels without BTF) counts the same" *
          doctest::test_suite("root")) {
  napi_through_nicd("tracepoint");
}
