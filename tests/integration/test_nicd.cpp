// nicperf-nicd end to end: namespaces, taps, a verified test through the emulated NIC, its
// counters against nicperf's bytes, live coalescing changes, and nothing left after down or a
// crash. Needs root (namespaces, taps); skips with the reason otherwise.
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

const nlohmann::json& forward_total(const nlohmann::json& report) {
  return report["end"]["nic"]["directions"]["cli_to_srv"]["total"];
}

}  // namespace

TEST_CASE("nicd: a verified test through the NIC, its counters, live coalescing, clean down" *
          doctest::test_suite("root")) {
  if (!have_root()) return;
  Nic nic;
  REQUIRE(nic.up());
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
  CHECK(fwd["drops"].get<std::uint64_t>() == 0);
  const auto& q0 = report["end"]["nic"]["directions"]["cli_to_srv"]["queues"][0];
  // The daemon reads its counters while ACKs still cross: allow a few frames of skew.
  auto near = [](const nlohmann::json& a, const nlohmann::json& b) {
    return std::llabs(a.get<long long>() - b.get<long long>()) <= 16;
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
  CHECK(access(nic.socket.c_str(), F_OK) != 0);
}

TEST_CASE("nicd: the control socket survives garbage and answers with one error line" *
          doctest::test_suite("root")) {
  if (!have_root()) return;
  Nic nic;
  REQUIRE(nic.up());
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

TEST_CASE("nicd: after a crash, the next up clears the leftovers" * doctest::test_suite("root")) {
  if (!have_root()) return;
  Nic nic;
  REQUIRE(nic.up());
  nic.daemon->signal(SIGKILL);
  nic.daemon->wait(5);
  CHECK(nicperf::netns_exists(nic.cli));  // what a crash leaves: the namespaces, the socket
  REQUIRE(nic.up());
  CHECK(nic.ctl({"info"}) == 0);
}
