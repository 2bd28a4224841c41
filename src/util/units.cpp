#include "nicperf/util/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace nicperf {
namespace {

Error bad(std::string_view what, std::string_view text) {
  return {Errc::kUsage, std::string(what) + " '" + std::string(text) + "' is not valid"};
}

// Splits "12.5K" into 12.5 and the multiplier for its suffix.
bool split_number(std::string_view text, double base, double& value) {
  if (text.empty()) return false;
  double mult = 1;
  switch (text.back()) {
    case 'k':
    case 'K':
      mult = base;
      break;
    case 'm':
    case 'M':
      mult = base * base;
      break;
    case 'g':
    case 'G':
      mult = base * base * base;
      break;
    case 't':
    case 'T':
      mult = base * base * base * base;
      break;
    default:
      break;
  }
  if (mult != 1) text.remove_suffix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (!std::isfinite(value) || value < 0) return false;
  value *= mult;
  return true;
}

std::string scaled(double value, double base, const char* const* names, const char* unit) {
  int i = 0;
  while (value >= base * 0.9995 && names[i + 1] != nullptr) {
    value /= base;
    ++i;
  }
  int decimals = value >= 99.95 ? 0 : value >= 9.995 ? 1 : 2;
  return fixed(value, decimals) + " " + names[i] + unit;
}

}  // namespace

Expected<std::uint64_t> parse_size(std::string_view text) {
  double value = 0;
  if (!split_number(text, 1024, value) || value > 1.8e19) return bad("size", text);
  return static_cast<std::uint64_t>(std::llround(value));
}

Expected<double> parse_rate(std::string_view text) {
  double value = 0;
  if (!split_number(text, 1000, value)) return bad("rate", text);
  return value;
}

Expected<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto dash = item.find('-');
    auto first_part = item.substr(0, dash);
    int first = -1, last = -1;
    auto r1 = std::from_chars(first_part.data(), first_part.data() + first_part.size(), first);
    if (r1.ec != std::errc() || r1.ptr != first_part.data() + first_part.size() || first < 0)
      return bad("CPU list", item);
    last = first;
    if (dash != std::string_view::npos) {
      auto tail = item.substr(dash + 1);
      auto r2 = std::from_chars(tail.data(), tail.data() + tail.size(), last);
      if (r2.ec != std::errc() || r2.ptr != tail.data() + tail.size() || last < first)
        return bad("CPU list", item);
    }
    if (last > 4095) return bad("CPU list", item);
    for (int c = first; c <= last; ++c) cpus.push_back(c);
  }
  if (cpus.empty()) return bad("CPU list", text);
  return cpus;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string format_bytes(double bytes) {
  static const char* const names[] = {"", "K", "M", "G", "T", nullptr};
  return scaled(bytes, 1024, names, "Bytes");
}

std::string format_rate(double bits_per_second) {
  static const char* const names[] = {"", "K", "M", "G", "T", nullptr};
  return scaled(bits_per_second, 1000, names, "bits/sec");
}

std::string format_rate_in(double bits_per_second, char unit) {
  if (!unit || !std::strchr("kmgtKMGT", unit)) return format_rate(bits_per_second);
  return iperf3_units(bits_per_second / 8, unit) + "s/sec";
}

// As units.c has it: scale to the unit (or the largest that keeps the number at least 1 for
// A and a), then at most four places before the label.
std::string iperf3_units(double bytes, char format) {
  static const char kUnits[] = "kmgt";
  static const char* const kBits[] = {"bit", "Kbit", "Mbit", "Gbit", "Tbit"};
  static const char* const kBytes[] = {"Byte", "KByte", "MByte", "GByte", "TByte"};
  bool in_bytes = std::isupper(static_cast<unsigned char>(format));
  double base = in_bytes ? 1024.0 : 1000.0;
  double v = in_bytes ? bytes : bytes * 8;
  const char* at = std::strchr(kUnits, std::tolower(static_cast<unsigned char>(format)));
  int power = 0;
  if (format && at) {
    power = int(at - kUnits) + 1;
  } else {
    for (double t = v; t >= base && power < 4; t /= base) ++power;
  }
  // The same factors, multiplied in the same order, as iperf3's conversion tables.
  double factor = 1.0;
  for (int i = 0; i < power; ++i) factor /= base;
  v *= factor;
  const char* fmt = v < 9.995 ? "%4.2f %s" : v < 99.95 ? "%4.1f %s" : "%4.0f %s";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v, (in_bytes ? kBytes : kBits)[power]);
  return buf;
}

}  // namespace nicperf
