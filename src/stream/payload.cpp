#include "nicperf/stream/payload.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace nicperf {

Expected<Payload> Payload::create(std::size_t size, bool random) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/nicperf.XXXXXX";
  Payload p;
  p.fd_ = mkostemp(path.data(), O_CLOEXEC);
  if (p.fd_ < 0)
    return Error{Errc::kSystem, errno_text("cannot create payload file " + path +
                                               " (set TMPDIR to a writable directory)",
                                           errno)};
  unlink(path.c_str());
  p.size_ = size;
  if (ftruncate(p.fd_, static_cast<off_t>(size)) != 0)
    return Error{Errc::kSystem, errno_text("cannot size payload file " + path, errno)};
  void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, p.fd_, 0);
  if (m == MAP_FAILED) return Error{Errc::kSystem, errno_text("cannot map payload file", errno)};
  p.data_ = static_cast<char*>(m);
  if (random) {
    for (std::size_t got = 0; got < size;) {
      ssize_t n = getrandom(p.data_ + got, size - got, 0);
      if (n > 0)
        got += std::size_t(n);
      else if (errno != EINTR)
        return Error{Errc::kSystem, errno_text("getrandom", errno)};
    }
  } else {
    for (std::size_t i = 0; i < size; ++i) p.data_[i] = pattern_byte(i, size);
  }
  return p;
}

Expected<Payload> Payload::from_file(const std::string& path) {
  Payload p;
  p.fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (p.fd_ < 0 || fstat(p.fd_, &st) != 0)
    return Error{Errc::kUsage, errno_text("-F " + path + ": cannot read it", errno)};
  if (!S_ISREG(st.st_mode) || st.st_size == 0)
    return Error{Errc::kUsage, "-F " + path + ": not a regular file with data in it"};
  p.size_ = std::size_t(st.st_size);
  // Read-only and shared: the send paths read it (write) or hand the fd to the kernel
  // (sendfile); nothing writes it.
  void* m = mmap(nullptr, p.size_, PROT_READ, MAP_SHARED, p.fd_, 0);
  if (m == MAP_FAILED) return Error{Errc::kSystem, errno_text("cannot map " + path, errno)};
  p.data_ = static_cast<char*>(m);
  return p;
}

Payload::Payload(Payload&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)) {}

Payload& Payload::operator=(Payload&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = std::exchange(o.fd_, -1);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

Payload::~Payload() { release(); }

void Payload::release() {
  if (data_) munmap(data_, size_);
  if (fd_ >= 0) close(fd_);
  data_ = nullptr;
  fd_ = -1;
}

std::optional<std::uint64_t> find_mismatch(const char* data, std::size_t n,
                                           std::uint64_t stream_offset, std::size_t block_len) {
  std::size_t pos = stream_offset % block_len;
  for (std::size_t i = 0; i < n; ++i) {
    if (data[i] != static_cast<char>('0' + pos % 10)) return stream_offset + i;
    if (++pos == block_len) pos = 0;
  }
  return std::nullopt;
}

}  // namespace nicperf
