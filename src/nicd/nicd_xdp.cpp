// The xdp backend's devices: per side a veth pair, one end in the side's namespace with its
// address, the other in nicd's own namespace (<cli-ns>-nicd, so nothing lands in the root one)
// with one port (a receiving and a transmitting AF_XDP socket on one UMEM) per queue. Deleting that
// namespace removes both ends and detaches the XDP programs, also after a crash.
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "nicd/nicd.hpp"
#include "nicd/xsk_port.hpp"
#include "nicperf/util/netns.hpp"

namespace nicperf::nic {

namespace {

// The namespace's stack does checksums and segmentation itself: XDP sees the bytes as they
// are, and a partial checksum or a GSO super-frame would cross AF_XDP broken.
Status software_offloads(int sock, const std::string& dev) {
  const std::pair<std::uint32_t, const char*> offloads[] = {{ETHTOOL_STXCSUM, "ETHTOOL_STXCSUM"},
                                                            {ETHTOOL_STSO, "ETHTOOL_STSO"},
                                                            {ETHTOOL_SGSO, "ETHTOOL_SGSO"}};
  for (const auto& [cmd, what] : offloads)
    if (auto st = set_ethtool_flag(sock, dev, cmd, what, false); !st) return st;
  return ok();
}

}  // namespace

Status Nicd::make_veths() {
  if (auto s = netns_add(nicd_ns()); !s) return s;
  std::string q = std::to_string(config_.queues), mtu = std::to_string(config_.mtu);
  // Half-page frames while an MTU frame and the XDP headroom fit: half the pinned memory.
  std::uint32_t frame_size = config_.mtu + 14 + XskPort::kHeadroom <= 2048 ? 2048 : 4096;
  struct Side {
    std::string ns, dev, peer, addr;
    std::vector<std::unique_ptr<Port>>* ports;
    int* sock;
  };
  for (Side side : {Side{config_.cli_ns, tap_name(Direction::kCliToSrv), "nicd-cli",
                         config_.cli_addr, &cli_ports_, &cli_sock_},
                    Side{config_.srv_ns, tap_name(Direction::kSrvToCli), "nicd-srv",
                         config_.srv_addr, &srv_ports_, &srv_sock_}}) {
    std::string prefix = side.addr + "/" + std::to_string(config_.prefix_len);
    // clang-format off
    std::vector<std::string> add = {"ip", "-n", nicd_ns(), "link", "add", side.peer,
        "numtxqueues", q, "numrxqueues", q, "type", "veth", "peer", "name", side.dev,
        "netns", side.ns, "numtxqueues", q, "numrxqueues", q};
    // clang-format on
    for (auto argv : std::vector<std::vector<std::string>>{
             add,
             {"ip", "-n", nicd_ns(), "link", "set", side.peer, "mtu", mtu, "up"},
             {"ip", "-n", side.ns, "link", "set", "lo", "up"},
             {"ip", "-n", side.ns, "link", "set", side.dev, "mtu", mtu, "up"},
             {"ip", "-n", side.ns, "addr", "add", prefix, "dev", side.dev, "nodad"}}) {
      if (auto s = run_command(argv); !s) return s;
    }
    auto made = in_netns(side.ns, [&]() -> Status {
      *side.sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (*side.sock < 0) return Error{Errc::kSystem, errno_text("socket", errno)};
      if (auto s = software_offloads(*side.sock, side.dev); !s) return s;
      return set_gro(*side.sock, side.dev, config_.settings.gro);
    });
    if (!made) return made;
    made = in_netns(nicd_ns(), [&]() -> Status {
      for (unsigned i = 0; i < config_.queues; ++i) {
        auto port = XskPort::open(side.peer, i, config_.settings.ring, frame_size);
        if (!port) return port.error();
        side.ports->push_back(std::move(*port));
      }
      return ok();
    });
    if (!made) return made;
  }
  return ok();
}

// libxdp finds the program to detach by ifindex: close the sockets where the devices are.
void Nicd::remove_veths() {
  in_netns(nicd_ns(), [&]() -> Status {
    cli_ports_.clear();
    srv_ports_.clear();
    return ok();
  });
}

}  // namespace nicperf::nic
