// The figures nicperf diff compares, shared by the diff (diff.cpp) and its views
// (diff_report.cpp).
#pragma once

#include <string>

#include "nicperf/tools/diff.hpp"

namespace nicperf::diff {

struct FigureDef {
  const char* key;
  const char* label;
  Better better;
  int decimals;
  double scale;  // shares are stored 0-1 and shown in percent
  const char* suffix;
};

// The keys are the --compare rows' keys, so a row is read by name.
inline constexpr FigureDef kFigures[] = {
    {"gbps", "Gbit/s", Better::kHigher, 2, 1, ""},
    {"sender_cpu_s_per_gb", "CPU s/GB snd", Better::kLower, 3, 1, ""},
    {"receiver_cpu_s_per_gb", "CPU s/GB rcv", Better::kLower, 3, 1, ""},
    {"sender_cycles_per_byte", "cycles/B snd", Better::kLower, 2, 1, ""},
    {"receiver_cycles_per_byte", "cycles/B rcv", Better::kLower, 2, 1, ""},
    {"sender_softirq_share", "softirq snd", Better::kNeither, 1, 100, "%"},
    {"receiver_softirq_share", "softirq rcv", Better::kNeither, 1, 100, "%"},
    {"copied_share", "zc copied", Better::kNeither, 1, 100, "%"},
};

inline const FigureDef& figure_def(const std::string& key) {
  for (const auto& f : kFigures)
    if (key == f.key) return f;
  return kFigures[0];
}
// Two single tests' end.profile sides, A and B as columns (diff_profile.cpp).
void diff_profiles(const Json& a, const Json& b, DiffResult& d);

}  // namespace nicperf::diff
