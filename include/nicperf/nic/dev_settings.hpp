// --compare-nic on a kernel device: the same keys as nicperf-nicd's (rx-usecs, rx-frames,
// adaptive-rx, ring sizes, gro, tso) applied with ETHTOOL_SCOALESCE / SRINGPARAM / SFEATURES,
// and the device's own values put back when done. A driver that refuses a setting, or takes it
// without the value changing, is an error naming the driver and the setting.
#pragma once

#include <memory>
#include <string>

#include "nicperf/util/error.hpp"

namespace nicperf::nic {

class Ethtool;

// Whether --compare-nic's key is one a kernel device takes.
bool is_dev_setting(const std::string& key);

class DevSettings {
 public:
  // Reads what apply() may change, to restore it (root: CAP_NET_ADMIN).
  static Expected<DevSettings> open(const std::string& ifname);
  DevSettings(DevSettings&&) noexcept;
  DevSettings& operator=(DevSettings&&) noexcept;
  ~DevSettings();  // restore()

  Status apply(const std::string& key, const std::string& value);
  // The device's current value of a key, as apply() takes it ("25", "on").
  Expected<std::string> read(const std::string& key);
  // Puts back every group apply() changed; the first failure is reported.
  Status restore();

 private:
  struct State;
  explicit DevSettings(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace nicperf::nic
