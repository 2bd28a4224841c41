#include "nicperf/util/netns.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sched.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nicperf/util/unique_fd.hpp"

extern char** environ;

namespace nicperf {

namespace {

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string read_all(int fd) {
  std::string text;
  char buf[512];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR);)
    if (n > 0) text.append(buf, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Status run_command(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return Error{Errc::kSystem, errno_text("pipe", errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  UniqueFd out{pipefd[0]};
  if (rc != 0) {
    return Error{Errc::kSystem, errno_text("cannot run '" + argv[0] + "' (install iproute2)", rc)};
  }
  std::string err = read_all(out.get());
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  return Error{Errc::kSystem, "'" + joined(argv) + "' failed: " + (err.empty() ? "?" : err)};
}

bool netns_exists(const std::string& name) {
  struct stat st {};
  return stat(("/run/netns/" + name).c_str(), &st) == 0;
}

Status netns_add(const std::string& name) { return run_command({"ip", "netns", "add", name}); }

Status netns_delete(const std::string& name) {
  if (!netns_exists(name)) return ok();
  return run_command({"ip", "netns", "delete", name});
}

Status enter_netns(const std::string& name) {
  UniqueFd ns{open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC)};
  if (ns.get() < 0) {
    return Error{
        Errc::kUsage,
        errno_text("network namespace '" + name + "' (list them with 'ip netns list')", errno)};
  }
  if (setns(ns.get(), CLONE_NEWNET) != 0) {
    int err = errno;
    return Error{
        err == EPERM ? Errc::kAccessDenied : Errc::kSystem,
        errno_text("entering network namespace '" + name + "' (needs root or CAP_SYS_ADMIN)", err)};
  }
  return ok();
}

Status in_netns(const std::string& name, const std::function<Status()>& fn) {
  UniqueFd home{open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)};
  if (home.get() < 0) return Error{Errc::kSystem, errno_text("/proc/thread-self/ns/net", errno)};
  if (auto s = enter_netns(name); !s) return s;
  Status result = fn();
  if (setns(home.get(), CLONE_NEWNET) != 0) {
    return Error{Errc::kSystem, errno_text("returning to the original network namespace", errno)};
  }
  return result;
}

std::optional<std::string> missing_net_admin(const std::string& what) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return std::nullopt;
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
  if (has(CAP_NET_ADMIN) && has(CAP_SYS_ADMIN)) return std::nullopt;
  return what + " needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run it with sudo";
}

Status set_tap_offload(int fd, bool tso) {
  unsigned long flags = TUN_F_CSUM;
  if (tso) flags |= TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
  if (ioctl(fd, TUNSETOFFLOAD, flags) != 0) {
    return Error{Errc::kSystem, errno_text("TUNSETOFFLOAD", errno)};
  }
  return ok();
}

Expected<std::vector<int>> open_tap(const TapOptions& o) {
  std::vector<int> fds;
  auto fail = [&](const std::string& what) -> Error {
    int err = errno;
    for (int fd : fds) close(fd);
    return Error{err == EPERM ? Errc::kAccessDenied : Errc::kSystem,
                 errno_text("tap " + o.name + ": " + what, err)};
  };
  for (unsigned q = 0; q < o.queues; ++q) {
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return fail("/dev/net/tun");
    fds.push_back(fd);
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", o.name.c_str());
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_NAPI | IFF_MULTI_QUEUE;
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) return fail("TUNSETIFF");
    if (auto s = set_tap_offload(fd, o.tso); !s) return fail("TUNSETOFFLOAD");
  }
  return fds;
}

Status set_ethtool_flag(int netns_socket, const std::string& dev, std::uint32_t cmd,
                        const char* what, bool on) {
  ethtool_value value{cmd, on ? 1u : 0u};
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev.c_str());
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (ioctl(netns_socket, SIOCETHTOOL, &ifr) != 0)
    return Error{Errc::kSystem, errno_text(std::string(what) + " on " + dev, errno)};
  return ok();
}

Status set_gro(int netns_socket, const std::string& dev, bool on) {
  return set_ethtool_flag(netns_socket, dev, ETHTOOL_SGRO, "ETHTOOL_SGRO", on);
}

}  // namespace nicperf
