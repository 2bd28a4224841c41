// --sweep-rate LO:HI:STEPS: the receive-livelock experiment (Mogul and Ramakrishnan). UDP is
// offered at rising packet rates, one short test per step, and each step records what the
// receiving application got, where the rest was dropped, and what the receiving host spent on
// NET_RX and interrupts. With --compare-nic the whole sweep repeats per NIC setting.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/results/results.hpp"
#include "nicperf/session/session.hpp"

namespace nicperf {

struct SweepOptions {
  double lo_pps = 0, hi_pps = 0;
  int steps = 0;
  std::string nic_key;  // --compare-nic: one sweep per value
  std::vector<std::string> nic_values;
};

// "50k:2M:10" (k, m, g: powers of 1000).
Expected<SweepOptions> parse_sweep(const std::string& text);
// The offered rates, geometric from lo to hi.
std::vector<double> sweep_rates(const SweepOptions& opt);

struct SweepPoint {
  std::string nic_setting;
  double target_pps = 0;
  int exit_code = 0;
  std::string error;
  double seconds = 0;
  // Datagrams: offered = delivered + every drop counted + unattributed.
  std::uint64_t offered = 0, delivered = 0;
  std::uint64_t send_drops = 0;    // the sender's own stack (ENOBUFS)
  std::uint64_t device_drops = 0;  // the sender's devices (a full tap queue)
  std::uint64_t socket_drops = 0;  // the receiving socket's buffer
  // nicperf-nicd's ring drops and link losses (with --nic)
  std::optional<std::uint64_t> nic_drops;
  std::int64_t unattributed = 0;
  double offered_pps = 0, delivered_pps = 0;
  ReceiverLoad receiver;  // from the results model; each figure absent when not measured
};

SweepPoint sweep_point(const Report& r, int exit_code, double target_pps);
Json sweep_json(const std::vector<SweepPoint>& points);
void print_sweep(std::ostream& out, const TestSpec& spec, const std::vector<SweepPoint>& points);
int run_sweep(const ClientOptions& base, const SweepOptions& opt, std::ostream& out,
              std::ostream& err);

}  // namespace nicperf
