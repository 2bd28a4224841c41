// The kernel device under one side's data connections, read as the measured window opens and
// as it closes (beside the cost collector's window), into SideEnd::nic_dev.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nicperf/nic/nic_dev.hpp"
#include "nicperf/util/error.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf {

// --nic-dev names a device of this side's network namespace, or the test does not start.
Status check_nic_dev(const std::string& dev);

class NicDevWatch {
 public:
  // named: --nic-dev; else the device holding the first data socket's local address.
  void begin(const std::vector<int>& fds, const std::string& named);
  // Which CPUs the stream threads are on now (sampled while they run).
  void note_cpus(const std::vector<pid_t>& tids);
  std::optional<nic::NicDevView> end();

 private:
  // The data sockets' network namespace: a server that bound its listener in one (--netns)
  // runs in another, and the device is read where the connection is.
  template <class F>
  void in_socket_ns(F&& f);
  void begin_in_ns(const std::vector<int>& fds, const std::string& named);
  UniqueFd ns_;
  std::optional<nic::DevSnapshot> begin_;
  std::set<int> cpus_;
};

}  // namespace nicperf
