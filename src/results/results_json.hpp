// The results exchange's pieces for UDP and --rr streams (results.cpp and results_udp.cpp).
#pragma once

#include "nicperf/results/results.hpp"

namespace nicperf {

Json udp_json(const UdpCounts& u);
UdpCounts udp_from_json(const Json& j);  // throws nlohmann or range errors on bad input
Json rr_json(const RrCounts& rr);
Expected<RrCounts> rr_from_json(const Json& j);
// A side's per-interval CPU (interval_cpu.cpp); reading throws on bad types like the others.
Json interval_cpu_json(const std::vector<IntervalCpu>& series);
Expected<std::vector<IntervalCpu>> interval_cpu_from_json(const Json& j);

}  // namespace nicperf
