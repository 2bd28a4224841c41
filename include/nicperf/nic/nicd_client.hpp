// What both binaries share of nicperf-nicd: the settings `set` and --compare-nic take, and the
// client side of the daemon's control socket (JSON lines over a UNIX socket).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "nicperf/util/error.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf::nic {

struct CoalesceSettings {
  std::uint32_t rx_usecs = 50;
  std::uint32_t rx_frames = 32;
  bool adaptive = false;
};

struct LinkSettings {
  std::uint64_t rate_bps = 0;  // 0: unlimited
  std::uint64_t delay_us = 0;
  double loss = 0;  // probability a frame is lost, 0..1
};

inline constexpr const char* kDefaultSocket = "/run/nicperf-nicd.sock";
inline constexpr const char* kNsPrefix = "nicperf-";

// What `set` may change while the NIC runs.
struct NicSettings {
  CoalesceSettings coalesce;
  LinkSettings link;
  bool tso = true;  // the kernel hands GSO super-frames; off: it segments them itself
  bool gro = true;  // super-frames reach the receiver whole; off: MTU frames
  std::uint32_t ring = 256;
  std::uint64_t busy_poll_us = 0;  // spin this long for the next frame before sleeping
};
nlohmann::json to_json(const NicSettings& s);
// One "key=value" as `nicperf-nicd set` and --compare-nic take them: rx-usecs, rx-frames,
// adaptive, tso, gro, rate, delay (us), loss (percent), ring, busy-poll (us).
Status apply_setting(NicSettings& s, const std::string& key, const std::string& value);
Status apply_settings(NicSettings& s, const nlohmann::json& obj);  // {"rx-usecs": 0, ...}

// One JSON object and a newline, all of it (a peer that does not read for 1 s is given up).
bool send_json_line(int fd, const nlohmann::json& j);

// Client side of the control socket, for `nicperf-nicd stats|set|down` and `nicperf --nic`.
class NicdClient {
 public:
  static Expected<NicdClient> connect(const std::string& socket);
  // Sends one request and returns the reply; an {"ok":false} reply becomes an Error.
  Expected<nlohmann::json> request(const nlohmann::json& req);

 private:
  explicit NicdClient(int fd) : fd_(fd) {}
  UniqueFd fd_;
  std::string buffered_;
};

}  // namespace nicperf::nic
