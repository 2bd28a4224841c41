// Text pieces the text reporter shares with its UDP and --rr views (reporter.cpp,
// reporter_udp.cpp).
#pragma once

#include <string>

#include "nicperf/results/results.hpp"

namespace nicperf {

std::string pad(std::string s, std::size_t width, bool left = false);
std::string span_text(double start, double end);
// "[  1]" or, in a bidir test, "[  1][TX-C]".
std::string stream_tag(const Report& r, int id, bool sender);
std::string sum_tag(const Report& r, bool reverse_group);
// " 0.00-1.00   sec  1.10 GBytes  9.42 Gbits/sec"; rate_unit: iperf3's -f (0 = adaptive).
std::string figures(const Totals& t, char rate_unit = 0);

// UDP: iperf3's columns (datagrams; jitter and lost/total on the receiving side).
std::string udp_interval_header(bool any_sender);
std::string udp_interval_columns(const StreamSample& s);
std::string udp_end_lines(const Report& r, char rate_unit = 0);
// --rr: transactions per second and latency percentiles.
std::string rr_interval_header();
std::string rr_interval_line(const Report& r, const StreamSample& s);
std::string rr_end_lines(const Report& r);
std::string format_latency(std::uint64_t ns);  // "48.2 us", "1.30 ms"
// NAPI polls and softnet deltas per side, below the cost table; "" for a side with neither.
std::string napi_softnet_block(const std::string& who, const SideCost& c);
std::string napi_softnet_blocks(const Report& r);

}  // namespace nicperf
