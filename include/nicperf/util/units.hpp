// Parsing and formatting of sizes, rates and CPU lists, the way iperf3 users write them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf {

// "128K" -> 131072: K, M, G, T are powers of 1024 (iperf3's rule for sizes).
Expected<std::uint64_t> parse_size(std::string_view text);
// "10G" -> 1e10 bits/s: k, m, g, t are powers of 1000 (rates).
Expected<double> parse_rate(std::string_view text);
// "0,2-3" -> {0, 2, 3}
Expected<std::vector<int>> parse_cpu_list(std::string_view text);

// iperf3-style: "1.23 GBytes", "29.6 Gbits/sec" (three significant digits).
std::string format_bytes(double bytes);
std::string format_rate(double bits_per_second);
// iperf3's -f: the rate in one fixed unit, k/m/g/t (bits, powers of 1000) or K/M/G/T (bytes,
// powers of 1024), printed as iperf3's unit_snprintf prints it ("9420 Mbits/sec"); any other
// unit is format_rate().
std::string format_rate_in(double bits_per_second, char unit);
// iperf3's unit_snprintf itself: `bytes` in format A (adaptive bytes), a (adaptive bits),
// K/M/G/T or k/m/g/t, e.g. " 977 KByte" (singular: iperf3's report strings add the "s").
std::string iperf3_units(double bytes, char format);
// "%.2f" without a locale.
std::string fixed(double value, int decimals);

}  // namespace nicperf
