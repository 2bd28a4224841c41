// What was measured on: the JSON "context" block and iperf3's system_info string.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace nicperf {

inline constexpr int kSchemaVersion = 1;

nlohmann::json system_context();
std::string system_info();  // "Linux host 6.1.0 #1 SMP ... x86_64", as iperf3 prints
std::string nicperf_version();
// Non-empty when figures from this build should not be trusted for speed.
std::string build_warning();

}  // namespace nicperf
