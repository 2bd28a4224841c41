// --profile: where one side's CPU went over the measured window. Each thread of the side's
// process gets a perf_event sampler (cpu-clock, or cycles where a PMU exists) with kernel and
// user call chains; the samples are symbolized (kernel from /proc/kallsyms, nicperf's own from
// its ELF symbol table, other code by library name) and folded into stacks and top functions.
// Samples whose chain runs through the softirq or hardirq entry are counted as that group.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf {

// 499 Hz per thread: a sample with both chains costs a few microseconds, so about 0.1-0.3% of
// a busy thread's CPU (under the 1% budget); off 500 so it never beats with the 250 Hz tick.
inline constexpr double kProfileRateHz = 499;
inline constexpr std::size_t kProfileTopRows = 15;
// Bounds on a peer's profile (the server's comes through the results exchange).
inline constexpr std::size_t kMaxProfileRows = 64;
inline constexpr std::size_t kMaxFoldedStacks = 4000;

enum class FrameGroup { kUser = 0, kKernel = 1, kSoftirq = 2, kHardirq = 3 };
inline constexpr std::size_t kFrameGroups = 4;
const char* frame_group_name(FrameGroup g);  // user | kernel | softirq | hardirq

struct StackFrame {
  std::string name;
  bool kernel = false;
};

// One sample as the sampler recorded and the symbolizer named it, leaf first.
struct ProfileSample {
  std::uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  pid_t tid = 0;
  std::vector<StackFrame> frames;
};

// Each frame's group: user code is user; kernel frames are kernel up to (rootward of) a softirq
// or hardirq entry, and that group from the entry to the leaf.
std::vector<FrameGroup> frame_groups(const std::vector<StackFrame>& frames);
// The kernel function names that open softirq (__do_softirq, handle_softirqs, net_rx_action)
// and hardirq processing.
bool is_softirq_entry(const std::string& name);
bool is_hardirq_entry(const std::string& name);

struct ProfileRow {
  std::string name;
  FrameGroup group = FrameGroup::kKernel;
  std::uint64_t samples = 0;
  double share = 0;            // of the side's profiled CPU (its samples)
  double cpu_ns_per_byte = 0;  // samples x period over the bytes the side moved
};

struct Profile {
  std::string event;  // cpu-clock | cycles
  double rate_hz = 0;
  std::uint64_t samples = 0;  // inside the window
  std::uint64_t outside = 0;  // recorded but before or after the window (not counted)
  std::uint64_t lost = 0;     // PERF_RECORD_LOST
  int threads = 0;
  double window_s = 0;
  std::uint64_t bytes = 0;
  bool kernel_chains = true;
  std::array<std::uint64_t, kFrameGroups> by_group{};  // samples by their leaf's group
  std::vector<ProfileRow> top_self, top_inclusive;
  std::map<std::string, std::uint64_t> folded;  // "frame;frame;..." root first -> samples
  std::string note;                             // why something is missing (kptr_restrict, ...)
  double ns_per_sample() const { return rate_hz > 0 ? 1e9 / rate_hz : 0; }
};

struct FoldWindow {
  std::uint64_t begin_ns = 0, end_ns = 0;
  double rate_hz = kProfileRateHz;
  std::uint64_t bytes = 0;
  std::size_t top = kProfileTopRows;
};
// Pure: the samples inside the window folded into stacks, group totals and top functions by
// self and by inclusive samples (ties by name).
Profile fold_samples(const std::vector<ProfileSample>& samples, const FoldWindow& w);

// JSON: the summary for end.profile.<side>; with_folded adds the stacks (the results exchange
// carries them, the report does not).
nlohmann::json to_json(const Profile& p, bool with_folded);
Expected<Profile> profile_from_json(const nlohmann::json& j);
// Folded-stack text, one "side;frame;...;frame count" line per stack.
std::string folded_text(const Profile& p, const std::string& side);
// Writes folded_text() to DIR/NAME.folded (creating DIR).
Status write_folded(const std::string& dir, const std::string& name, const Profile& p,
                    const std::string& side);
// The text block for one side.
std::string profile_text(const Profile& p, const std::string& side);

// Samples one side's threads. Not thread-safe: one owner thread calls everything.
class ProfileSampler {
 public:
  // Null when no thread could be sampled.
  static std::unique_ptr<ProfileSampler> open(const std::vector<pid_t>& tids);
  // Every thread of this process but `exclude` (other tests' threads in a shared server).
  static std::unique_ptr<ProfileSampler> open_process(const std::vector<pid_t>& exclude);
  ~ProfileSampler();
  void begin(std::uint64_t begin_ns) { begin_ns_ = begin_ns; }
  // Empties the rings into memory; call it often enough that none fills (every 100 ms is).
  void drain();
  // Closes the window: drains, stops and symbolizes.
  Profile finish(std::uint64_t end_ns, std::uint64_t bytes);

 private:
  struct Ring;
  ProfileSampler() = default;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<ProfileSample> samples_;
  std::vector<std::vector<std::uint64_t>> raw_ips_;
  std::uint64_t begin_ns_ = ~std::uint64_t(0), lost_ = 0;  // nothing counts before begin()
  std::string event_, note_;
  bool kernel_chains_ = true;
};

}  // namespace nicperf
