// The dummy data a test sends: a temp file nicperf.XXXXXX in $TMPDIR (unlinked at once, so
// nothing is left behind even on a crash), filled with the repeating "0123456789" pattern and
// mapped MAP_SHARED. Stream byte p is always file byte p % size(), whatever the send path, so
// a receiver can check any byte knowing only its stream offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "nicperf/util/error.hpp"

namespace nicperf {

class Payload {
 public:
  static Expected<Payload> create(std::size_t size, bool random);
  // -F: the file itself, mapped read-only; stream byte p is its byte p % size().
  static Expected<Payload> from_file(const std::string& path);
  Payload(Payload&& other) noexcept;
  Payload& operator=(Payload&& other) noexcept;
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;
  ~Payload();

  int fd() const { return fd_; }
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  Payload() = default;
  void release();
  int fd_ = -1;
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

inline char pattern_byte(std::uint64_t stream_offset, std::size_t block_len) {
  return static_cast<char>('0' + (stream_offset % block_len) % 10);
}

// Offset of the first byte that differs from the pattern, if any.
std::optional<std::uint64_t> find_mismatch(const char* data, std::size_t n,
                                           std::uint64_t stream_offset, std::size_t block_len);

}  // namespace nicperf
