// The threads of tests that run side by side in one process (a server's --max-tests). Each test
// claims its threads, so each test's cost collector leaves the others' threads out of its "rest
// of the process" and out of its interrupt attribution. The server owns one for all its tests.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <vector>

namespace nicperf {

// Thread-safe. A claim lasts until released by the same owner.
class ThreadClaims {
 public:
  void claim(const void* owner, const std::vector<pid_t>& tids);
  void release(const void* owner);
  // Threads claimed by owners other than `owner`, except the calling thread.
  std::vector<pid_t> others(const void* owner) const;

 private:
  mutable std::mutex mutex_;
  std::multimap<const void*, pid_t> claims_;
};

}  // namespace nicperf
