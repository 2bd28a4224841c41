#include "nic/ethtool_ioctl.hpp"

#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace nicperf::nic {

namespace {

constexpr std::uint32_t kMaxStrings = 1 << 16;  // a driver lying about its count is not trusted

// The features a reader of throughput figures asks about first, by the kernel's names.
constexpr std::pair<const char*, const char*> kFeatures[] = {
    {"tso", "tx-tcp-segmentation"},     {"gso", "tx-generic-segmentation"},
    {"gro", "rx-gro"}, {"lro", "rx-lro"},
    {"rx_checksum", "rx-checksum"},     {"tx_checksum", "tx-checksum-ip-generic"},
    {"sg", "tx-scatter-gather"},        {"rx_gro_hw", "rx-gro-hw"}};

// A variable-length ethtool request: the fixed struct, then n elements of T, 8-byte aligned.
template <class Head, class T>
struct VarBuf {
  explicit VarBuf(std::size_t n)
      : bytes(sizeof(Head) + n * sizeof(T)), mem(new std::uint64_t[(bytes + 7) / 8]()) {}
  Head* head() { return reinterpret_cast<Head*>(mem.get()); }
  T* data() { return reinterpret_cast<T*>(reinterpret_cast<char*>(mem.get()) + sizeof(Head)); }
  std::size_t bytes;
  std::unique_ptr<std::uint64_t[]> mem;
};

nlohmann::json error_json(const std::string& why) { return {{"error", why}}; }

}  // namespace

Ethtool::Ethtool(std::string ifname)
    : ifname_(std::move(ifname)), fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}

int Ethtool::call(void* data) {
  if (!fd_ || ifname_.size() >= IFNAMSIZ) return ENODEV;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname_.c_str(), ifname_.size());
  ifr.ifr_data = static_cast<char*>(data);
  // SFEATURES answers with flags (a positive value): only a negative one is a failure.
  return ioctl(fd_.get(), SIOCETHTOOL, &ifr) >= 0 ? 0 : errno;
}

std::optional<std::uint32_t> Ethtool::mtu() {
  ifreq ifr{};
  if (!fd_ || ifname_.size() >= IFNAMSIZ) return std::nullopt;
  std::memcpy(ifr.ifr_name, ifname_.c_str(), ifname_.size());
  if (ioctl(fd_.get(), SIOCGIFMTU, &ifr) != 0) return std::nullopt;
  return static_cast<std::uint32_t>(ifr.ifr_mtu);
}

const std::string& Ethtool::driver() {
  if (!driver_read_) {
    driver_read_ = true;
    if (auto d = drvinfo()) driver_ = d->driver;
  }
  return driver_;
}

std::string Ethtool::refusal(const std::string& what, int err) {
  std::string drv = driver().empty() ? ifname_ : driver();
  if (err == EOPNOTSUPP || err == EINVAL) return what + ": not supported by driver " + drv;
  return errno_text(what + " (driver " + drv + ")", err);
}

Expected<ethtool_drvinfo> Ethtool::drvinfo() {
  ethtool_drvinfo d{};
  d.cmd = ETHTOOL_GDRVINFO;
  if (int err = call(&d))
    return Error{Errc::kSystem, errno_text("ETHTOOL_GDRVINFO " + ifname_, err)};
  return d;
}

nlohmann::json Ethtool::link() {
  // GLINKSETTINGS answers a zero-sized request with the mask size it wants (negated).
  VarBuf<ethtool_link_settings, std::uint32_t> buf(3 * 127);
  buf.head()->cmd = ETHTOOL_GLINKSETTINGS;
  int err = call(buf.head());
  if (!err && buf.head()->link_mode_masks_nwords < 0) {
    buf.head()->link_mode_masks_nwords =
        static_cast<std::int8_t>(-buf.head()->link_mode_masks_nwords);
    buf.head()->cmd = ETHTOOL_GLINKSETTINGS;
    err = call(buf.head());
  }
  if (err) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::object();
  const ethtool_link_settings& ls = *buf.head();
  if (ls.speed != 0 && ls.speed != static_cast<std::uint32_t>(SPEED_UNKNOWN))
    j["speed_mbps"] = ls.speed;
  if (ls.duplex == DUPLEX_FULL) j["duplex"] = "full";
  if (ls.duplex == DUPLEX_HALF) j["duplex"] = "half";
  return j;
}

nlohmann::json Ethtool::identity() {
  nlohmann::json j = nlohmann::json::object();
  auto d = drvinfo();
  if (!d) return {{"error", d.error().message}};
  j["driver"] = std::string(d->driver);
  j["version"] = std::string(d->version);
  if (d->fw_version[0]) j["firmware"] = std::string(d->fw_version);
  if (d->bus_info[0]) j["bus"] = std::string(d->bus_info);
  j.update(link());
  return j;
}

Expected<std::vector<std::string>> Ethtool::strings(std::uint32_t set) {
  VarBuf<ethtool_sset_info, std::uint32_t> info(1);
  info.head()->cmd = ETHTOOL_GSSET_INFO;
  info.head()->sset_mask = 1ULL << set;
  if (int err = call(info.head())) return Error{Errc::kSystem, refusal("string set", err)};
  std::uint32_t n = info.head()->sset_mask ? info.data()[0] : 0;
  if (n > kMaxStrings) return Error{Errc::kSystem, "driver " + driver() + " lists too many names"};
  VarBuf<ethtool_gstrings, char> buf(std::size_t(n) * ETH_GSTRING_LEN);
  buf.head()->cmd = ETHTOOL_GSTRINGS;
  buf.head()->string_set = set;
  buf.head()->len = n;
  if (int err = call(buf.head())) return Error{Errc::kSystem, refusal("strings", err)};
  std::vector<std::string> out;
  for (std::uint32_t i = 0; i < n && i < buf.head()->len; ++i)
    out.emplace_back(buf.data() + std::size_t(i) * ETH_GSTRING_LEN,
                     strnlen(buf.data() + std::size_t(i) * ETH_GSTRING_LEN, ETH_GSTRING_LEN));
  return out;
}

nlohmann::json Ethtool::features() {
  auto names = strings(ETH_SS_FEATURES);
  if (!names) return error_json(names.error().message);
  std::size_t blocks = (names->size() + 31) / 32;
  VarBuf<ethtool_gfeatures, ethtool_get_features_block> buf(blocks);
  buf.head()->cmd = ETHTOOL_GFEATURES;
  buf.head()->size = static_cast<std::uint32_t>(blocks);
  if (int err = call(buf.head())) return error_json(refusal("features", err));
  nlohmann::json j = nlohmann::json::object();
  for (auto [key, kernel_name] : kFeatures) {
    for (std::size_t i = 0; i < names->size(); ++i) {
      if ((*names)[i] != kernel_name) continue;
      j[key] = ((buf.data()[i / 32].active >> (i % 32)) & 1) != 0;
    }
  }
  return j;
}

Expected<std::size_t> Ethtool::feature_index(const std::string& kernel_name) {
  auto names = strings(ETH_SS_FEATURES);
  if (!names) return names.error();
  for (std::size_t i = 0; i < names->size(); ++i)
    if ((*names)[i] == kernel_name) return i;
  return Error{Errc::kUsage, kernel_name + ": not supported by driver " + driver()};
}

Expected<bool> Ethtool::feature(const std::string& kernel_name) {
  auto i = feature_index(kernel_name);
  if (!i) return i.error();
  std::size_t blocks = *i / 32 + 1;
  VarBuf<ethtool_gfeatures, ethtool_get_features_block> buf(blocks);
  buf.head()->cmd = ETHTOOL_GFEATURES;
  buf.head()->size = static_cast<std::uint32_t>(blocks);
  if (int err = call(buf.head())) return Error{Errc::kSystem, refusal(kernel_name, err)};
  return ((buf.data()[*i / 32].active >> (*i % 32)) & 1) != 0;
}

Status Ethtool::set_feature(const std::string& kernel_name, bool on) {
  auto i = feature_index(kernel_name);
  if (!i) return i.error();
  std::size_t blocks = *i / 32 + 1;
  VarBuf<ethtool_sfeatures, ethtool_set_features_block> buf(blocks);
  buf.head()->cmd = ETHTOOL_SFEATURES;
  buf.head()->size = static_cast<std::uint32_t>(blocks);
  buf.data()[*i / 32].valid = 1u << (*i % 32);
  buf.data()[*i / 32].requested = on ? 1u << (*i % 32) : 0;
  if (int err = call(buf.head())) return Error{Errc::kSystem, refusal(kernel_name, err)};
  return ok();
}

nlohmann::json Ethtool::config() {
  nlohmann::json j;
  j["features"] = features();
  ethtool_coalesce c{};
  c.cmd = ETHTOOL_GCOALESCE;
  if (int err = call(&c))
    j["coalesce"] = error_json(refusal("coalescing", err));
  else
    j["coalesce"] = {{"rx_usecs", c.rx_coalesce_usecs},
                     {"rx_frames", c.rx_max_coalesced_frames},
                     {"tx_usecs", c.tx_coalesce_usecs},
                     {"tx_frames", c.tx_max_coalesced_frames},
                     {"adaptive_rx", c.use_adaptive_rx_coalesce != 0},
                     {"adaptive_tx", c.use_adaptive_tx_coalesce != 0}};
  ethtool_ringparam r{};
  r.cmd = ETHTOOL_GRINGPARAM;
  if (int err = call(&r))
    j["ring"] = error_json(refusal("ring sizes", err));
  else
    j["ring"] = {{"rx", r.rx_pending},
                 {"rx_max", r.rx_max_pending},
                 {"tx", r.tx_pending},
                 {"tx_max", r.tx_max_pending}};
  ethtool_channels ch{};
  ch.cmd = ETHTOOL_GCHANNELS;
  if (int err = call(&ch))
    j["channels"] = error_json(refusal("channels", err));
  else
    j["channels"] = {
        {"rx", ch.rx_count},   {"tx", ch.tx_count},   {"combined", ch.combined_count},
        {"max_rx", ch.max_rx}, {"max_tx", ch.max_tx}, {"max_combined", ch.max_combined}};
  ethtool_rxfh_indir ind{};
  ind.cmd = ETHTOOL_GRXFHINDIR;
  if (int err = call(&ind))
    j["rss_table_size"] = error_json(refusal("RSS indirection table", err));
  else
    j["rss_table_size"] = ind.size;
  return j;
}

Expected<std::vector<std::pair<std::string, std::uint64_t>>> Ethtool::stats() {
  auto names = strings(ETH_SS_STATS);
  if (!names) return Error{Errc::kSystem, refusal("driver counters", EOPNOTSUPP)};
  if (names->empty()) return Error{Errc::kSystem, "driver " + driver() + " keeps no counters"};
  VarBuf<ethtool_stats, std::uint64_t> buf(names->size());
  buf.head()->cmd = ETHTOOL_GSTATS;
  buf.head()->n_stats = static_cast<std::uint32_t>(names->size());
  if (int err = call(buf.head())) return Error{Errc::kSystem, refusal("driver counters", err)};
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (std::size_t i = 0; i < names->size() && i < buf.head()->n_stats; ++i)
    out.emplace_back((*names)[i], buf.data()[i]);
  return out;
}

}  // namespace nicperf::nic
