// --compare (and --repeat alone, which is a comparison of one path with itself): the same
// test once per send (and receive) path, interleaved over rounds with the
// order rotated each round, and one table of medians. Each run is a full test; its figures come
// from that test's Report, and the table and JSON are views of the runs.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/profile/profile_table.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/session/session.hpp"

namespace nicperf {

struct CompareOptions {
  std::vector<std::string> send_modes;  // empty = every available send path but null
  std::vector<std::string> recv_modes;  // empty = the spec's recv_mode
  int repeat = 3;
  std::string nic_key;                  // --compare-nic: the NIC setting swept
  std::vector<std::string> nic_values;  // one row set per value
};

struct CompareRun {
  std::string send_mode, recv_mode;
  std::string nic_setting;  // "rx-usecs=25" with --compare-nic, else empty
  int round = 0;
  int exit_code = 0;
  std::string error;
  double gbps = 0;
  std::uint64_t bytes = 0;
  std::optional<double> copied_share, mapped_share;
  CpuUsage sender_cpu, receiver_cpu;
  // From each side's cost collector (absent when that side measured no cost).
  std::optional<double> sender_s_per_gb, receiver_s_per_gb;
  std::optional<double> sender_softirq_share, receiver_softirq_share;
  std::optional<double> sender_cycles_per_byte, receiver_cycles_per_byte;  // with a PMU only
  // With --nic, over the data's direction through the NIC (absent without).
  std::optional<double> nic_irqs_per_gb, nic_frames_per_irq;
  std::optional<Profile> sender_profile, receiver_profile;  // --profile
};

struct Spread {
  int n = 0;
  double median = 0, min = 0, max = 0;
  double mean = 0;
  double ci95 = 0;  // half-width of the 95% confidence interval of the mean (Student's t), n >= 2
};
Spread spread(std::vector<double> values);

struct CompareRow {
  std::string send_mode, recv_mode, nic_setting;
  std::string unavailable;  // why the path cannot run here, if it cannot
  int failures = 0;
  Spread gbps, copied_share, sender_cpu, receiver_cpu;
  Spread sender_s_per_gb, receiver_s_per_gb, sender_softirq, receiver_softirq;
  Spread nic_irqs_per_gb, nic_frames_per_irq;
  Spread sender_cycles_per_byte, receiver_cycles_per_byte;
};

struct CompareResult {
  TestSpec spec;
  std::string host;
  int port = 0;
  int repeat = 0;
  bool nic = false;  // --nic: the NIC's columns
  std::vector<CompareRun> runs;
  std::vector<CompareRow> rows;  // filled by summarize()
  bool interrupted = false;
};

// One cell of the compare matrix: send path, receive path, NIC setting ("" without a sweep).
struct CompareCell {
  std::string send, recv, nic;
};

CompareRun run_figures(const Report& r, int exit_code, int round);
void summarize(CompareResult& result, const std::vector<CompareCell>& cells,
               const std::vector<std::string>& unavailable);
Json compare_json(const CompareResult& result);
void print_compare(std::ostream& out, const CompareResult& result);

// --compare --profile: the top kernel functions of one side, a column per path (rounds pooled;
// share absent for a path with no profile).
using CompareProfile = ProfileTable;
inline constexpr std::size_t kCompareProfileRows = 12;
CompareProfile compare_profile(const CompareResult& result, bool sender,
                               std::size_t top = kCompareProfileRows);
// Both sides' tables (nothing when no run was profiled).
void print_compare_profile(std::ostream& out, const CompareResult& result);
Json compare_profile_json(const CompareResult& result);  // null when no run was profiled

// The rounds' order: pairs rotated by `round`, so drift hits every path alike.
std::vector<std::size_t> round_order(std::size_t count, int round);

int run_compare(const ClientOptions& base, const CompareOptions& opt, std::ostream& out,
                std::ostream& err);

}  // namespace nicperf
