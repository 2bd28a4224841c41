// The hardware counter group's read, scaling and multiplex marking, from recorded read()
// records: machines without a PMU (many VMs, this project's among them) never run that code for
// real, so the arithmetic is pinned here.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "nicperf/cost/perf_counters.hpp"

using namespace nicperf;

namespace {

// A group record as the kernel writes it with PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED |
// TOTAL_TIME_RUNNING: {nr, enabled, running, values...}.
std::vector<std::uint64_t> record(std::uint64_t enabled, std::uint64_t running,
                                  std::vector<std::uint64_t> values) {
  std::vector<std::uint64_t> r{values.size(), enabled, running};
  r.insert(r.end(), values.begin(), values.end());
  return r;
}

CounterValues hardware(const std::vector<std::uint64_t>& rec) {
  GroupRead g;
  REQUIRE(decode_group(rec, kHardwareEvents, g));
  CounterValues v;
  apply_hardware_group(g, v);
  return v;
}

}  // namespace

TEST_CASE("perf group records: a full record decodes, a short or mismatched one is refused") {
  GroupRead g;
  auto rec = record(1000, 800, {11, 22, 33, 44});
  REQUIRE(decode_group(rec, 4, g));
  CHECK(g.enabled == 1000);
  CHECK(g.running == 800);
  CHECK(g.values == std::vector<std::uint64_t>{11, 22, 33, 44});

  auto short_rec = rec;
  short_rec.pop_back();
  CHECK_FALSE(decode_group(short_rec, 4, g));
  CHECK_FALSE(decode_group(rec, 3, g));  // the record names 4 events, the group has 3
  CHECK_FALSE(decode_group({}, 4, g));
}

TEST_CASE("hardware group: counted all the time, the values are taken as they are") {
  // Recorded on an AMD EPYC guest with a PMU: 2.1 G cycles, IPC 1.4, 70% of cycles in the kernel.
  auto v = hardware(record(1'000'000'000, 1'000'000'000,
                           {2'100'000'000, 2'940'000'000, 630'000'000, 1'470'000'000}));
  CHECK(v.has_hardware);
  CHECK(v.cycles == doctest::Approx(2.1e9));
  CHECK(v.instructions == doctest::Approx(2.94e9));
  CHECK(v.instructions / v.cycles == doctest::Approx(1.4));
  CHECK(v.cycles_user + v.cycles_kernel == doctest::Approx(v.cycles));
  CHECK(v.multiplexed_share() == doctest::Approx(0.0));
}

TEST_CASE("hardware group: multiplexed counts are scaled by enabled/running and marked") {
  // 10 HW events on one task ran 54-66% of the time on these guests: here 60%.
  auto v = hardware(record(1'000'000'000, 600'000'000, {600, 900, 150, 450}));
  CHECK(v.has_hardware);
  CHECK(v.cycles == doctest::Approx(1000));
  CHECK(v.instructions == doctest::Approx(1500));
  CHECK(v.cycles_user == doctest::Approx(250));
  CHECK(v.cycles_kernel == doctest::Approx(750));
  CHECK(v.multiplexed_share() == doctest::Approx(0.4));
}

TEST_CASE("hardware group: a group that never ran leaves the figures absent, not zero") {
  auto v = hardware(record(1'000'000'000, 0, {0, 0, 0, 0}));
  CHECK_FALSE(v.has_hardware);
  CHECK(v.multiplexed_share() == doctest::Approx(0.0));
}

TEST_CASE("software group: task-clock and event counts are taken unscaled") {
  GroupRead g;
  REQUIRE(decode_group(record(5000, 5000, {4'200'000, 17, 3, 250}), kSoftwareEvents, g));
  CounterValues v;
  apply_software_group(g, v);
  CHECK(v.task_clock_ns == doctest::Approx(4.2e6));
  CHECK(v.context_switches == 17);
  CHECK(v.migrations == 3);
  CHECK(v.page_faults == 250);
  CHECK_FALSE(v.has_hardware);
}

TEST_CASE("a refused hardware group says why, in words a user can act on") {
  for (int err : {ENOENT, EOPNOTSUPP, ENODEV})
    CHECK(hw_refusal(err).find("no hardware PMU on this machine") != std::string::npos);
  for (int err : {EACCES, EPERM}) CHECK(hw_refusal(err).find("CAP_PERFMON") != std::string::npos);
  CHECK(hw_refusal(EINVAL).find("hardware counters refused") != std::string::npos);
}
