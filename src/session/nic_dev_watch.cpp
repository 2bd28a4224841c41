#include "session/nic_dev_watch.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace nicperf {

namespace {

// Field 39 of /proc/<pid>/task/<tid>/stat: the CPU the thread last ran on.
std::optional<int> last_cpu(pid_t tid) {
  // Plain read(): a thread that just exited makes the read fail (ESRCH), which a stream
  // buffer would throw.
  UniqueFd fd{open(("/proc/self/task/" + std::to_string(tid) + "/stat").c_str(),
                   O_RDONLY | O_CLOEXEC)};
  char buf[1024];
  ssize_t n = fd ? read(fd.get(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return std::nullopt;
  std::string text(buf, static_cast<std::size_t>(n));
  auto paren = text.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 39 && rest >> field; ++i)
    if (i == 39) return std::atoi(field.c_str());
  return std::nullopt;
}

}  // namespace

Status check_nic_dev(const std::string& dev) {
  if (dev.empty() || if_nametoindex(dev.c_str()) != 0) return ok();
  return Error{Errc::kUsage, "--nic-dev: no network device '" + dev +
                                 "' in this network namespace (see 'ip link')"};
}

template <class F>
void NicDevWatch::in_socket_ns(F&& f) {
  UniqueFd home{open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)};
  bool moved = ns_ && home && setns(ns_.get(), CLONE_NEWNET) == 0;
  f();
  if (moved) setns(home.get(), CLONE_NEWNET);
}

void NicDevWatch::begin(const std::vector<int>& fds, const std::string& named) {
  if (!fds.empty()) ns_.reset(ioctl(fds.front(), SIOCGSKNS));
  in_socket_ns([&] { begin_in_ns(fds, named); });
}

void NicDevWatch::begin_in_ns(const std::vector<int>& fds, const std::string& named) {
  std::optional<std::string> dev;
  if (!named.empty()) dev = named;
  for (std::size_t i = 0; !dev && i < fds.size(); ++i) dev = nic::device_of_socket(fds[i]);
  if (!dev) return;  // no address of ours holds the connection: nothing to report
  if (*dev == "lo") {
    begin_.emplace().device = "lo";  // loopback has no NIC: nothing to read
    return;
  }
  begin_ = nic::snapshot_device(*dev);
}

void NicDevWatch::note_cpus(const std::vector<pid_t>& tids) {
  for (pid_t t : tids)
    if (t > 0)
      if (auto cpu = last_cpu(t)) cpus_.insert(*cpu);
}

std::optional<nic::NicDevView> NicDevWatch::end() {
  if (!begin_) return std::nullopt;
  if (begin_->device == "lo") return nic::device_delta(*begin_, *begin_);
  nic::DevSnapshot last;
  in_socket_ns([&] { last = nic::snapshot_device(begin_->device); });
  nic::NicDevView v = nic::device_delta(*begin_, last);
  if (!v.loopback) v.stream_cpus.assign(cpus_.begin(), cpus_.end());
  return v;
}

}  // namespace nicperf
