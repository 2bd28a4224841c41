// Network namespaces and TAP devices for the emulated NIC. Namespaces are made and removed with
// iproute2's `ip netns` so they are the ones `ip netns list` shows; a process enters one with
// setns(). TAP queues are opened after entering the namespace, so the device lives there and
// vanishes when its last queue fd closes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf {

// Runs a program (PATH lookup) and waits; the error names the command and its stderr.
Status run_command(const std::vector<std::string>& argv);

bool netns_exists(const std::string& name);
Status netns_add(const std::string& name);
Status netns_delete(const std::string& name);  // absent is fine

// Moves the calling thread into the namespace (/run/netns/NAME). Call before any other thread
// or socket exists: threads started later inherit it.
Status enter_netns(const std::string& name);

// Runs `fn` with the calling thread in namespace `name`, then returns it to where it was.
Status in_netns(const std::string& name, const std::function<Status()>& fn);

// Needs CAP_NET_ADMIN and CAP_SYS_ADMIN: the one-line reason when they are missing.
std::optional<std::string> missing_net_admin(const std::string& what);

struct TapOptions {
  std::string name;  // device name
  unsigned queues = 1;
  bool tso = true;  // TUNSETOFFLOAD TSO4|TSO6 (the kernel hands GSO super-frames)
};
// Opens the queues of a multi-queue TAP (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR|IFF_NAPI|
// IFF_MULTI_QUEUE) in the calling thread's namespace; the fds are non-blocking.
Expected<std::vector<int>> open_tap(const TapOptions& o);
Status set_tap_offload(int fd, bool tso);
// ETHTOOL_SGRO through a socket opened in the device's namespace.
Status set_gro(int netns_socket, const std::string& dev, bool on);
// One ethtool on/off setting of DEV through a socket in its namespace: cmd ETHTOOL_SGRO,
// ETHTOOL_STSO, ..., named in the error by `what`.
Status set_ethtool_flag(int netns_socket, const std::string& dev, std::uint32_t cmd,
                        const char* what, bool on);

}  // namespace nicperf
