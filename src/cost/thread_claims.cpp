#include "nicperf/cost/thread_claims.hpp"

#include <unistd.h>

namespace nicperf {

void ThreadClaims::claim(const void* owner, const std::vector<pid_t>& tids) {
  std::lock_guard lock(mutex_);
  for (pid_t t : tids) claims_.emplace(owner, t);
}

void ThreadClaims::release(const void* owner) {
  std::lock_guard lock(mutex_);
  claims_.erase(owner);
}

std::vector<pid_t> ThreadClaims::others(const void* owner) const {
  pid_t self = gettid();
  std::lock_guard lock(mutex_);
  std::vector<pid_t> out;
  for (const auto& [who, tid] : claims_)
    if (who != owner && tid != self) out.push_back(tid);
  return out;
}

}  // namespace nicperf
