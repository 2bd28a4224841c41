// /proc/net/softnet_stat by column count, old kernels and new, and its window deltas.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "cost/softnet.hpp"

using namespace nicperf;

namespace {

// 2.6.32: nine columns (processed, dropped, time_squeeze, five zeros, cpu_collision).
const char* kNineColumns =
    "0000a1b2 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000000\n"
    "00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n";
// 3.x: received_rps (2.6.35) and flow_limit_count (3.11), eleven columns.
const char* kElevenColumns =
    "00000100 00000002 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000004 "
    "00000005\n";
// 6.1: thirteen columns, backlog length and the cpu id last (CPU 1 offline: ids 0 and 2).
const char* kThirteenColumns =
    "000000ff 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
    "00000000 00000000 00000000\n"
    "00000fff 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000007 "
    "00000000 00000000 00000002\n";
// 6.9+: fifteen columns, input_qlen and process_qlen after the cpu id.
const char* kFifteenColumns =
    "055e1048 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
    "00000000 00000000 00000000 00000000 00000000\n"
    "053ba2f3 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
    "00000000 00000000 00000001 00000003 00000000\n";

SoftnetCount at(int cpu, std::uint64_t processed, std::uint64_t squeeze = 0) {
  SoftnetCount s;
  s.cpu = cpu;
  s.processed = processed;
  s.time_squeeze = squeeze;
  s.received_rps = 0;
  s.flow_limit = 0;
  return s;
}

}  // namespace

TEST_CASE("softnet_stat: nine columns have no rps or flow limit and take the line index") {
  auto rows = parse_softnet_stat(kNineColumns);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].cpu == 0);
  CHECK(rows[0].processed == 0xa1b2);
  CHECK(rows[0].dropped == 1);
  CHECK(rows[0].time_squeeze == 2);
  CHECK_FALSE(rows[0].received_rps);  // not printed: absent, never zero
  CHECK_FALSE(rows[0].flow_limit);
  CHECK(rows[1].cpu == 1);
  CHECK(rows[1].processed == 0x10);
}

TEST_CASE("softnet_stat: eleven columns add received_rps and flow_limit") {
  auto rows = parse_softnet_stat(kElevenColumns);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].cpu == 0);
  CHECK(rows[0].processed == 0x100);
  REQUIRE(rows[0].received_rps);
  CHECK(*rows[0].received_rps == 4);
  REQUIRE(rows[0].flow_limit);
  CHECK(*rows[0].flow_limit == 5);
  // Ten columns (2.6.35 to 3.10): rps but no flow limit.
  auto ten = parse_softnet_stat(
      "00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
      "00000009\n");
  REQUIRE(ten.size() == 1);
  CHECK(*ten[0].received_rps == 9);
  CHECK_FALSE(ten[0].flow_limit);
}

TEST_CASE("softnet_stat: from thirteen columns on the cpu id column names the CPU") {
  auto rows = parse_softnet_stat(kThirteenColumns);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].cpu == 0);
  CHECK(rows[0].time_squeeze == 1);
  CHECK(rows[1].cpu == 2);  // the second line, but CPU 2
  CHECK(rows[1].processed == 0xfff);
  CHECK(*rows[1].received_rps == 7);
  auto fifteen = parse_softnet_stat(kFifteenColumns);
  REQUIRE(fifteen.size() == 2);
  CHECK(fifteen[0].processed == 0x055e1048);
  CHECK(fifteen[0].time_squeeze == 3);
  CHECK(fifteen[1].cpu == 1);  // not input_qlen's 3
  CHECK(*fifteen[1].flow_limit == 0);
}

TEST_CASE("softnet_stat: lines that are not hex columns are left out") {
  CHECK(parse_softnet_stat("").empty());
  CHECK(parse_softnet_stat("\n\n").empty());
  CHECK(parse_softnet_stat("processed dropped squeeze\n").empty());
  CHECK(parse_softnet_stat("00000001 00000002\n").empty());  // too few columns
  CHECK(parse_softnet_stat("-0000001 00000000 00000000\n").empty());
  auto rows = parse_softnet_stat(std::string("zz 00 00\n") + kNineColumns);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].cpu == 0);
}

TEST_CASE("softnet deltas: only CPUs that moved, modulo 2^32, absent columns stay absent") {
  std::vector<SoftnetCount> begin{at(0, 100), at(1, 50), at(3, 0xfffffff0)};
  std::vector<SoftnetCount> end{at(0, 100), at(1, 80, 2), at(3, 0x10), at(4, 9)};
  auto d = softnet_delta(begin, end);
  REQUIRE(d.size() == 2);  // CPU 0 did not move; CPU 4 has no start
  CHECK(d[0].cpu == 1);
  CHECK(d[0].processed == 30);
  CHECK(d[0].time_squeeze == 2);
  CHECK(*d[0].received_rps == 0);
  CHECK(d[1].cpu == 3);
  CHECK(d[1].processed == 0x20);  // the 32-bit counter wrapped once
  end[1].flow_limit.reset();      // a column at one edge only
  CHECK_FALSE(softnet_delta(begin, end)[0].flow_limit);
  auto old = parse_softnet_stat(kNineColumns);
  auto later = old;
  later[1].dropped += 4;
  auto od = softnet_delta(old, later);
  REQUIRE(od.size() == 1);
  CHECK(od[0].dropped == 4);
  CHECK_FALSE(od[0].received_rps);
}

TEST_CASE("softnet window: snapshots at both edges, an unreadable file gives no figures") {
  char path[] = "/tmp/nicperf_softnet_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  auto write = [&path](const char* text) { std::ofstream(path, std::ios::trunc) << text; };
  write(kThirteenColumns);
  SoftnetWindow w(path);
  w.begin();
  write(
      "00000fff 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
      "00000000 00000000 00000000\n"
      "00000fff 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000007 "
      "00000000 00000000 00000002\n");
  w.end();
  auto d = w.deltas();
  REQUIRE(d.size() == 1);
  CHECK(d[0].cpu == 0);
  CHECK(d[0].processed == 0xfff - 0xff);
  CHECK(d[0].time_squeeze == 0);
  std::remove(path);
  SoftnetWindow gone(path);
  gone.begin();
  gone.end();
  CHECK(gone.deltas().empty());
  CHECK(SoftnetWindow().deltas().empty());  // never opened
}

TEST_CASE("softnet window: this kernel's file parses with a row per online CPU") {
  auto rows = parse_softnet_stat([] {
    std::ifstream in(kSoftnetStatPath);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }());
  if (rows.empty()) {
    MESSAGE("skipping: no " << kSoftnetStatPath);
    return;
  }
  CHECK(rows.size() <= std::size_t(sysconf(_SC_NPROCESSORS_CONF)));
}
