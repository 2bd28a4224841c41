// /proc/net/softnet_stat over the measured window: per-CPU deltas of the backlog's counters.
// The file has one line per online CPU of hex columns whose number grew with the kernel:
//    0 processed   1 dropped   2 time_squeeze   3-7 zero   8 cpu_collision (zero)
//    9 received_rps (2.6.35)   10 flow_limit_count (3.11)   11 backlog_len   12 cpu id (5.10)
//   13 input_qlen   14 process_qlen (6.x)
// So a line is read by its column count: a column not printed is absent, never zero.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nicperf/cost/figures.hpp"

namespace nicperf {

inline constexpr const char* kSoftnetStatPath = "/proc/net/softnet_stat";

// One SoftnetCount per line, with the counters' absolute values. The CPU is the kernel's cpu id
// column where it prints one, else the line's index (wrong only on an old kernel with CPUs
// offline, which it skips). A line with fewer than three hex columns is left out.
std::vector<SoftnetCount> parse_softnet_stat(const std::string& text);

// end - begin per CPU, keeping only the CPUs whose counters moved. The kernel's counters are 32
// bits wide, so a delta is taken modulo 2^32 (one wrap over the window is read right). A column
// present at only one edge is absent from the delta.
std::vector<SoftnetCount> softnet_delta(const std::vector<SoftnetCount>& begin,
                                        const std::vector<SoftnetCount>& end);

// Snapshots at the window's edges. Where the file cannot be read (no procfs, another network
// namespace's view missing) the deltas are empty: no figure rather than zeros.
class SoftnetWindow {
 public:
  explicit SoftnetWindow(std::string path = kSoftnetStatPath) : path_(std::move(path)) {}
  void begin() { begin_ = snapshot(); }
  void end() { end_ = snapshot(); }
  std::vector<SoftnetCount> deltas() const;

 private:
  std::optional<std::vector<SoftnetCount>> snapshot() const;
  std::string path_;
  std::optional<std::vector<SoftnetCount>> begin_, end_;
};

}  // namespace nicperf
