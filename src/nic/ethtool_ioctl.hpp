// SIOCETHTOOL on one device: the driver's answers as JSON, and its refusals as the reason
// ("not supported by driver veth"), never as zeros.
#pragma once

#include <linux/ethtool.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nicperf/util/error.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf::nic {

class Ethtool {
 public:
  explicit Ethtool(std::string ifname);
  Expected<ethtool_drvinfo> drvinfo();
  // driver, version, firmware, bus, speed_mbps, duplex (the link's where the driver knows it).
  nlohmann::json identity();
  // features, coalesce, ring, channels, rss_table_size: each an object or {"error": why}.
  nlohmann::json config();
  // The ETH_SS_STATS counters (`ethtool -S`), in the driver's order.
  Expected<std::vector<std::pair<std::string, std::uint64_t>>> stats();

  // The raw ioctl: 0 or the errno.
  int call(void* data);
  // Why a request failed, naming the driver: "coalescing: not supported by driver veth".
  std::string refusal(const std::string& what, int err);
  const std::string& driver();
  std::optional<std::uint32_t> mtu();
  // One feature by the kernel's name ("rx-gro"): its state, or set it.
  Expected<bool> feature(const std::string& kernel_name);
  Status set_feature(const std::string& kernel_name, bool on);  // SIOCGIFMTU: this namespace's device, unlike sysfs

 private:
  Expected<std::vector<std::string>> strings(std::uint32_t set);
  nlohmann::json features();
  Expected<std::size_t> feature_index(const std::string& kernel_name);
  nlohmann::json link();

  std::string ifname_, driver_;
  bool driver_read_ = false;
  UniqueFd fd_;
};

}  // namespace nicperf::nic
