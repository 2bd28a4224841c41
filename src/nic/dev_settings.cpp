#include "nicperf/nic/dev_settings.hpp"

#include <linux/ethtool.h>

#include <cerrno>
#include <cstdlib>
#include <map>

#include "nic/ethtool_ioctl.hpp"

namespace nicperf::nic {

namespace {

enum class Group { kCoalesce, kRing, kFeature };

struct Key {
  Group group;
  const char* feature;  // kFeature: the kernel's name
};

const std::map<std::string, Key>& keys() {
  static const std::map<std::string, Key> k = {
      {"rx-usecs", {Group::kCoalesce, nullptr}},  {"rx-frames", {Group::kCoalesce, nullptr}},
      {"adaptive-rx", {Group::kCoalesce, nullptr}}, {"adaptive", {Group::kCoalesce, nullptr}},
      {"ring", {Group::kRing, nullptr}},          {"rx-ring", {Group::kRing, nullptr}},
      {"tx-ring", {Group::kRing, nullptr}},
      {"gro", {Group::kFeature, "rx-gro"}},
      {"tso", {Group::kFeature, "tx-tcp-segmentation"}}};
  return k;
}

Expected<std::uint32_t> count_of(const std::string& key, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || v[0] == '-' || n > 1'000'000)
    return Error{Errc::kUsage, key + " takes a whole number, not '" + v + "'"};
  return static_cast<std::uint32_t>(n);
}

Expected<bool> switch_of(const std::string& key, const std::string& v) {
  if (v == "on" || v == "1" || v == "true") return true;
  if (v == "off" || v == "0" || v == "false") return false;
  return Error{Errc::kUsage, key + " takes on or off, not '" + v + "'"};
}

// The one field of a coalescing or ring request that a key names.
std::uint32_t* coalesce_field(ethtool_coalesce& c, const std::string& key) {
  if (key == "rx-usecs") return &c.rx_coalesce_usecs;
  if (key == "rx-frames") return &c.rx_max_coalesced_frames;
  return &c.use_adaptive_rx_coalesce;
}

std::uint32_t* ring_field(ethtool_ringparam& r, const std::string& key) {
  return key == "tx-ring" ? &r.tx_pending : &r.rx_pending;
}

}  // namespace

bool is_dev_setting(const std::string& key) { return keys().count(key) != 0; }

struct DevSettings::State {
  explicit State(const std::string& ifname) : et(ifname) {}
  Ethtool et;
  std::optional<ethtool_coalesce> coalesce0;
  std::optional<ethtool_ringparam> ring0;
  std::map<std::string, bool> features0;  // kernel name -> state as found
  bool coalesce_changed = false, ring_changed = false;
};

DevSettings::DevSettings(std::unique_ptr<State> s) : s_(std::move(s)) {}
DevSettings::DevSettings(DevSettings&&) noexcept = default;
DevSettings& DevSettings::operator=(DevSettings&&) noexcept = default;
DevSettings::~DevSettings() {
  if (s_) (void)restore();
}

Expected<DevSettings> DevSettings::open(const std::string& ifname) {
  auto s = std::make_unique<State>(ifname);
  if (auto d = s->et.drvinfo(); !d) return d.error();
  ethtool_coalesce c{};
  c.cmd = ETHTOOL_GCOALESCE;
  if (s->et.call(&c) == 0) s->coalesce0 = c;
  ethtool_ringparam r{};
  r.cmd = ETHTOOL_GRINGPARAM;
  if (s->et.call(&r) == 0) s->ring0 = r;
  for (const auto& [key, k] : keys())
    if (k.feature)
      if (auto on = s->et.feature(k.feature)) s->features0[k.feature] = *on;
  return DevSettings(std::move(s));
}

Expected<std::string> DevSettings::read(const std::string& key) {
  auto it = keys().find(key);
  if (it == keys().end()) return Error{Errc::kUsage, "unknown device setting '" + key + "'"};
  Ethtool& et = s_->et;
  if (it->second.group == Group::kFeature) {
    auto on = et.feature(it->second.feature);
    if (!on) return on.error();
    return std::string(*on ? "on" : "off");
  }
  if (it->second.group == Group::kCoalesce) {
    ethtool_coalesce c{};
    c.cmd = ETHTOOL_GCOALESCE;
    if (int err = et.call(&c)) return Error{Errc::kUsage, et.refusal(key, err)};
    return std::to_string(*coalesce_field(c, key));
  }
  ethtool_ringparam r{};
  r.cmd = ETHTOOL_GRINGPARAM;
  if (int err = et.call(&r)) return Error{Errc::kUsage, et.refusal(key, err)};
  return std::to_string(*ring_field(r, key));
}

Status DevSettings::apply(const std::string& key, const std::string& value) {
  auto it = keys().find(key);
  if (it == keys().end()) return Error{Errc::kUsage, "unknown device setting '" + key + "'"};
  Ethtool& et = s_->et;
  std::string what = key + "=" + value;
  if (it->second.group == Group::kFeature) {
    auto on = switch_of(key, value);
    if (!on) return on.error();
    if (auto st = et.set_feature(it->second.feature, *on); !st) return st;
  } else if (it->second.group == Group::kCoalesce) {
    Expected<std::uint32_t> v = std::uint32_t{0};
    if (key.rfind("adaptive", 0) == 0) {
      auto on = switch_of(key, value);
      if (!on) return on.error();
      v = std::uint32_t(*on);
    } else {
      v = count_of(key, value);
    }
    if (!v) return v.error();
    if (!s_->coalesce0) return Error{Errc::kUsage, et.refusal(what, EOPNOTSUPP)};
    ethtool_coalesce c{};
    c.cmd = ETHTOOL_GCOALESCE;
    if (int err = et.call(&c)) return Error{Errc::kUsage, et.refusal(what, err)};
    *coalesce_field(c, key) = *v;
    c.cmd = ETHTOOL_SCOALESCE;
    s_->coalesce_changed = true;
    if (int err = et.call(&c)) return Error{Errc::kUsage, et.refusal(what, err)};
  } else {
    auto v = count_of(key, value);
    if (!v) return v.error();
    if (!s_->ring0) return Error{Errc::kUsage, et.refusal(what, EOPNOTSUPP)};
    ethtool_ringparam r = *s_->ring0;
    r.cmd = ETHTOOL_GRINGPARAM;
    if (int err = et.call(&r)) return Error{Errc::kUsage, et.refusal(what, err)};
    *ring_field(r, key) = *v;
    if (key == "ring") r.tx_pending = *v;
    r.cmd = ETHTOOL_SRINGPARAM;
    s_->ring_changed = true;
    if (int err = et.call(&r)) return Error{Errc::kUsage, et.refusal(what, err)};
  }
  // A driver may take a request and keep its own value: that is a refusal too.
  auto now = read(key);
  if (!now) return now.error();
  bool same = *now == value || (value == "1" && *now == "on") || (value == "0" && *now == "off") ||
              (value == "on" && *now == "1") || (value == "off" && *now == "0");
  if (!same)
    return Error{Errc::kUsage, "driver " + et.driver() + " did not take " + what + " (it is " +
                                   *now + ")"};
  return ok();
}

Status DevSettings::restore() {
  Status first = ok();
  auto keep = [&](Status st) {
    if (!st && first) first = st;
  };
  Ethtool& et = s_->et;
  if (s_->coalesce_changed && s_->coalesce0) {
    ethtool_coalesce c = *s_->coalesce0;
    c.cmd = ETHTOOL_SCOALESCE;
    if (int err = et.call(&c)) keep(Error{Errc::kSystem, et.refusal("restoring coalescing", err)});
    s_->coalesce_changed = false;
  }
  if (s_->ring_changed && s_->ring0) {
    ethtool_ringparam r = *s_->ring0;
    r.cmd = ETHTOOL_SRINGPARAM;
    if (int err = et.call(&r)) keep(Error{Errc::kSystem, et.refusal("restoring ring sizes", err)});
    s_->ring_changed = false;
  }
  for (const auto& [name, on] : s_->features0)
    if (auto now = et.feature(name); now && *now != on) keep(et.set_feature(name, on));
  return first;
}

}  // namespace nicperf::nic
