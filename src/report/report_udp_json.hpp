// iperf3's UDP fields in nicperf's JSON: where an iperf3 UDP consumer reads them (end.sum,
// end.streams[].udp, the sums' packet and loss figures). nicperf's own UDP figures stay beside
// under their own names (end.sum_udp, packets_received, duplicates, send_drops, socket_drops).
#pragma once

#include "nicperf/results/results.hpp"

namespace nicperf {

// Adds iperf3's UDP shape to a UDP test's end object, as end_json made it.
void add_iperf3_udp_end(Json& end, const Report& r);
// Adds the packets (and a receiver's loss and jitter) to an interval's sums.
void add_iperf3_udp_interval(Json& interval, const Report& r, const IntervalRecord& iv);

}  // namespace nicperf
