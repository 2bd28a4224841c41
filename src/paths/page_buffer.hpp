// A receive buffer that starts on a page boundary (an anonymous mapping), as iperf3 reads into:
// a heap block from malloc starts 16 bytes past one, so every page the kernel copies into
// straddles two of ours.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <utility>

namespace nicperf {

class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(std::size_t len) { resize(len); }
  ~PageBuffer() { release(); }
  PageBuffer(PageBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  PageBuffer& operator=(PageBuffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  // Drops the old contents; false (and empty) when the mapping fails.
  bool resize(std::size_t len) {
    release();
    if (len == 0) return true;
    void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    data_ = static_cast<char*>(m);
    size_ = len;
    return true;
  }
  char* data() { return data_; }
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  void release() {
    if (data_) munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace nicperf
