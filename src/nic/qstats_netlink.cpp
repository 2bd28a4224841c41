// Per-queue statistics from the kernel's netdev generic netlink family (NETDEV_CMD_QSTATS_GET,
// Linux 6.10+). The build's kernel headers may predate the family, so its numbers are
// spelled here from the netdev spec (Documentation/netlink/specs/netdev.yaml); they are uAPI
// and never renumbered.
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>

#include "nic/ethtool_ioctl.hpp"
#include "nicperf/nic/nic_dev.hpp"

namespace nicperf::nic {

namespace {

constexpr int kQstatsGet = 12;  // NETDEV_CMD_QSTATS_GET
constexpr int kAttrIfindex = 1, kAttrQueueType = 2, kAttrQueueId = 3, kAttrScope = 4;
constexpr int kFirstCounter = 8;          // NETDEV_A_QSTATS_RX_PACKETS
constexpr std::uint32_t kScopeQueue = 1;  // NETDEV_QSTATS_SCOPE_QUEUE

// NETDEV_A_QSTATS_RX_PACKETS (8) onwards, in the spec's order.
constexpr std::array<const char*, 27> kCounters = {"rx-packets",
                                                   "rx-bytes",
                                                   "tx-packets",
                                                   "tx-bytes",
                                                   "rx-alloc-fail",
                                                   "rx-hw-drops",
                                                   "rx-hw-drop-overruns",
                                                   "rx-csum-complete",
                                                   "rx-csum-unnecessary",
                                                   "rx-csum-none",
                                                   "rx-csum-bad",
                                                   "rx-hw-gro-packets",
                                                   "rx-hw-gro-bytes",
                                                   "rx-hw-gro-wire-packets",
                                                   "rx-hw-gro-wire-bytes",
                                                   "rx-hw-drop-ratelimits",
                                                   "tx-hw-drops",
                                                   "tx-hw-drop-errors",
                                                   "tx-csum-none",
                                                   "tx-needs-csum",
                                                   "tx-hw-gso-packets",
                                                   "tx-hw-gso-bytes",
                                                   "tx-hw-gso-wire-packets",
                                                   "tx-hw-gso-wire-bytes",
                                                   "tx-hw-drop-ratelimits",
                                                   "tx-stop",
                                                   "tx-wake"};

// NLA_UINT: 4 or 8 bytes as the value needs.
std::optional<std::uint64_t> attr_uint(const nlattr* a) {
  std::size_t n = a->nla_len - NLA_HDRLEN;
  const char* p = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
  if (n == 4) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (n == 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  return std::nullopt;
}

std::string counter_name(int type) {
  std::size_t i = static_cast<std::size_t>(type - kFirstCounter);
  return i < kCounters.size() ? kCounters[i] : "attr-" + std::to_string(type);
}

// One reply's attributes: the queue's group and its counters.
std::optional<DevCounterGroup> parse_queue(const char* p, std::size_t len) {
  std::optional<std::uint64_t> type, id;
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  while (len >= NLA_HDRLEN) {
    const auto* a = reinterpret_cast<const nlattr*>(p);
    if (a->nla_len < NLA_HDRLEN || a->nla_len > len) break;
    int t = a->nla_type & NLA_TYPE_MASK;
    auto v = attr_uint(a);
    if (t == kAttrQueueType) type = v;
    if (t == kAttrQueueId) id = v;
    if (t >= kFirstCounter && v) {
      std::string name = counter_name(t);
      counters.emplace_back(name.substr(name.find('-') + 1), *v);
    }
    std::size_t step = NLA_ALIGN(a->nla_len);
    if (step >= len) break;
    p += step;
    len -= step;
  }
  if (!type || !id) return std::nullopt;
  return DevCounterGroup{(*type == 0 ? "rx " : "tx ") + std::to_string(*id), std::move(counters)};
}

}  // namespace

std::vector<DevCounterGroup> parse_qstats(const void* data, std::size_t len) {
  std::vector<DevCounterGroup> out;
  const char* p = static_cast<const char*>(data);
  while (len >= NLMSG_HDRLEN) {
    const auto* h = reinterpret_cast<const nlmsghdr*>(p);
    if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len) break;
    std::size_t body = h->nlmsg_len - NLMSG_HDRLEN;
    if (h->nlmsg_type >= NLMSG_MIN_TYPE && body >= GENL_HDRLEN)
      if (auto q = parse_queue(p + NLMSG_HDRLEN + GENL_HDRLEN, body - GENL_HDRLEN))
        out.push_back(std::move(*q));
    std::size_t step = NLMSG_ALIGN(h->nlmsg_len);
    if (step >= len) break;
    p += step;
    len -= step;
  }
  return out;
}

namespace {

// A generic netlink request: header, genl header, attributes.
struct Request {
  std::vector<char> buf;
  Request(std::uint16_t type, std::uint16_t flags, std::uint8_t cmd) {
    buf.resize(NLMSG_HDRLEN + GENL_HDRLEN);
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    h->nlmsg_type = type;
    h->nlmsg_flags = flags;
    auto* g = reinterpret_cast<genlmsghdr*>(buf.data() + NLMSG_HDRLEN);
    g->cmd = cmd;
    g->version = 1;
  }
  void put(std::uint16_t type, const void* data, std::size_t len) {
    std::size_t at = buf.size();
    buf.resize(at + NLA_ALIGN(NLA_HDRLEN + len));
    auto* a = reinterpret_cast<nlattr*>(buf.data() + at);
    a->nla_type = type;
    a->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + len);
    std::memcpy(buf.data() + at + NLA_HDRLEN, data, len);
  }
  const char* send_on(int fd) {
    reinterpret_cast<nlmsghdr*>(buf.data())->nlmsg_len = static_cast<std::uint32_t>(buf.size());
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    ssize_t n = sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    return n == static_cast<ssize_t>(buf.size()) ? nullptr : "send";
  }
};

// Reads replies until the dump's end; each data message goes to `each`. Returns 0 or the
// kernel's errno.
template <class F>
int receive(int fd, F&& each) {
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) return errno == EINTR ? 0 : errno;
    std::size_t len = static_cast<std::size_t>(n);
    for (const char* p = buf.data(); len >= NLMSG_HDRLEN;) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(p);
      if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len) return EPROTO;
      if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
        int err = 0;
        if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
          std::memcpy(&err, NLMSG_DATA(h), sizeof err);
        return -err;
      }
      each(p, h->nlmsg_len);
      if (!(h->nlmsg_flags & NLM_F_MULTI)) return 0;
      std::size_t step = NLMSG_ALIGN(h->nlmsg_len);
      if (step >= len) break;
      p += step;
      len -= step;
    }
  }
}

// The netdev family's id, or the errno resolving it gave (ENOENT: no such family).
int family_id(int fd, std::uint16_t& id) {
  Request r(GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY);
  r.put(CTRL_ATTR_FAMILY_NAME, "netdev", 7);
  if (r.send_on(fd)) return errno;
  id = 0;
  int err = receive(fd, [&](const char* p, std::size_t n) {
    const char* a = p + NLMSG_HDRLEN + GENL_HDRLEN;
    const char* end = p + n;
    while (a + NLA_HDRLEN <= end) {
      const auto* x = reinterpret_cast<const nlattr*>(a);
      if (x->nla_len < NLA_HDRLEN) break;
      if ((x->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID && x->nla_len >= NLA_HDRLEN + 2)
        std::memcpy(&id, a + NLA_HDRLEN, 2);
      a += NLA_ALIGN(x->nla_len);
    }
  });
  return err ? err : (id ? 0 : ENOENT);
}

}  // namespace

Expected<std::vector<DevCounterGroup>> read_qstats(const std::string& ifname) {
  const std::string what = "per-queue statistics: ";
  std::uint32_t index = if_nametoindex(ifname.c_str());
  if (index == 0) return Error{Errc::kSystem, what + "no device " + ifname};
  UniqueFd fd{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC)};
  if (!fd) return Error{Errc::kSystem, what + "no generic netlink socket: " + strerror(errno)};
  timeval tv{2, 0};  // a kernel that never answers must not hang the report
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::uint16_t family = 0;
  if (int err = family_id(fd.get(), family))
    return Error{Errc::kSystem, err == ENOENT ? what + "this kernel has no netdev netlink family"
                                              : what + "netdev family: " + strerror(err)};
  Request r(family, NLM_F_REQUEST | NLM_F_DUMP, kQstatsGet);
  r.put(kAttrIfindex, &index, 4);
  r.put(kAttrScope, &kScopeQueue, 4);
  if (r.send_on(fd.get())) return Error{Errc::kSystem, what + strerror(errno)};
  std::vector<DevCounterGroup> out;
  int err = receive(fd.get(), [&](const char* p, std::size_t n) {
    for (auto& g : parse_qstats(p, n)) out.push_back(std::move(g));
  });
  if (err == EOPNOTSUPP)
    return Error{Errc::kSystem, what + "not supported by driver " + driver_of(ifname)};
  if (err == EINVAL && out.empty())
    return Error{Errc::kSystem, what + "this kernel's netdev family has no queue statistics"};
  if (err) return Error{Errc::kSystem, what + strerror(err)};
  return out;
}

}  // namespace nicperf::nic
