// What the io_uring paths share: a ring with RAII, feature probes, and the constants that
// Debian's liburing 2.3 does not define yet (kept here, in one place).
#pragma once

#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <string>

#include "nicperf/util/error.hpp"

#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

namespace nicperf {

class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    if (ready_) io_uring_queue_exit(&ring_);
  }
  Status init(unsigned entries) {
    int r = io_uring_queue_init(entries, &ring_, 0);
    if (r < 0) return Error{Errc::kSystem, errno_text("io_uring_queue_init", -r)};
    ready_ = true;
    return ok();
  }
  io_uring* get() { return &ring_; }

 private:
  io_uring ring_{};
  bool ready_ = false;
};

// An anonymous mapping. Declare it before the Ring that uses it, so the ring (and with it every
// request that might still write into the memory) is torn down first.
class Mapping {
 public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (addr_) munmap(addr_, size_);
  }
  Status map(std::size_t size) {
    void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return Error{Errc::kSystem, errno_text("mmap", errno)};
    addr_ = static_cast<char*>(m);
    size_ = size;
    return ok();
  }
  char* data() const { return addr_; }

 private:
  char* addr_ = nullptr;
  std::size_t size_ = 0;
};

// Empty when this kernel's io_uring supports `op`, else why not.
std::string probe_uring_op(int op, const char* name);

}  // namespace nicperf
