#include <cerrno>
#include <cstdlib>

#include "nicperf/nic/nicd_client.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf::nic {

namespace {

Expected<bool> parse_switch(const std::string& key, const std::string& v) {
  if (v == "on" || v == "1" || v == "true") return true;
  if (v == "off" || v == "0" || v == "false") return false;
  return Error{Errc::kUsage, key + " takes on or off, not '" + v + "'"};
}

Expected<std::uint64_t> parse_count(const std::string& key, const std::string& v,
                                    std::uint64_t max) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || v[0] == '-' || n > max) {
    return Error{Errc::kUsage,
                 key + " takes a whole number up to " + std::to_string(max) + ", not '" + v + "'"};
  }
  return static_cast<std::uint64_t>(n);
}

}  // namespace

nlohmann::json to_json(const NicSettings& s) {
  return {{"rx-usecs", s.coalesce.rx_usecs},
          {"rx-frames", s.coalesce.rx_frames},
          {"adaptive", s.coalesce.adaptive},
          {"tso", s.tso},
          {"gro", s.gro},
          {"rate", s.link.rate_bps},
          {"delay", s.link.delay_us},
          {"loss", s.link.loss * 100},
          {"ring", s.ring},
          {"busy-poll", s.busy_poll_us}};
}

Status apply_setting(NicSettings& s, const std::string& key, const std::string& value) {
  auto count = [&](std::uint64_t max) { return parse_count(key, value, max); };
  auto flag = [&]() { return parse_switch(key, value); };
  if (key == "rx-usecs") {
    auto v = count(100'000);
    if (!v) return v.error();
    s.coalesce.rx_usecs = static_cast<std::uint32_t>(*v);
  } else if (key == "rx-frames") {
    auto v = count(4096);
    if (!v) return v.error();
    s.coalesce.rx_frames = static_cast<std::uint32_t>(*v);
  } else if (key == "adaptive" || key == "tso" || key == "gro") {
    auto v = flag();
    if (!v) return v.error();
    (key == "adaptive" ? s.coalesce.adaptive : key == "tso" ? s.tso : s.gro) = *v;
  } else if (key == "ring") {
    auto v = count(4096);
    if (!v) return v.error();
    if (*v < 64) return Error{Errc::kUsage, "ring takes 64 to 4096 descriptors"};
    s.ring = static_cast<std::uint32_t>(*v);
  } else if (key == "rate") {
    auto v = value == "0" ? Expected<double>(0.0) : parse_rate(value);
    if (!v) return v.error();
    if (*v != 0 && (*v < 1000 || *v > 1e15)) {
      return Error{Errc::kUsage,
                   "rate takes 1k to 1000T bits/s (or 0: no limit), not '" + value + "'"};
    }
    s.link.rate_bps = static_cast<std::uint64_t>(*v);
  } else if (key == "delay") {
    auto v = count(10'000'000);
    if (!v) return v.error();
    s.link.delay_us = *v;
  } else if (key == "busy-poll") {
    auto v = count(1000);
    if (!v) return v.error();
    s.busy_poll_us = *v;
  } else if (key == "loss") {
    char* end = nullptr;
    double p = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !(p >= 0 && p <= 100)) {
      return Error{Errc::kUsage, "loss takes a percentage 0..100, not '" + value + "'"};
    }
    s.link.loss = p / 100;
  } else {
    return Error{Errc::kUsage, "unknown NIC setting '" + key +
                                   "' (rx-usecs, rx-frames, adaptive, tso, gro, rate, delay, "
                                   "loss, ring, busy-poll)"};
  }
  return ok();
}

Status apply_settings(NicSettings& s, const nlohmann::json& obj) {
  if (!obj.is_object()) return Error{Errc::kUsage, "settings must be a JSON object"};
  NicSettings next = s;
  for (const auto& [key, v] : obj.items()) {
    std::string text = v.is_string()    ? v.get<std::string>()
                       : v.is_boolean() ? (v.get<bool>() ? "on" : "off")
                                        : v.dump();
    if (auto st = apply_setting(next, key, text); !st) return st;
  }
  s = next;
  return ok();
}

}  // namespace nicperf::nic
