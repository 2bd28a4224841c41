// SendPath / RecvPath: one way of moving a stream's bytes. Each path is one file in src/paths/
// and one line in the table in src/path_registry.cpp, as fio registers an ioengine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "nicperf/util/error.hpp"

namespace nicperf {

class Payload;

struct IoResult {
  std::size_t bytes = 0;       // bytes the kernel took (send) or delivered (recv)
  int err = 0;                 // errno, 0 on success
  const char* data = nullptr;  // recv: where the bytes are, nullptr if discarded
};

struct PathContext {
  int fd = -1;
  const Payload* payload = nullptr;
  std::size_t block_len = 0;
  int depth = 8;  // async paths: operations in flight
};

// Figures a path reports about itself (zero-copy completions, mapped bytes, ...).
struct PathStats {
  std::uint64_t zerocopy_completions = 0;  // zero-copy sends the kernel completed
  std::uint64_t zerocopy_copied = 0;       // ... of which it copied after all
  std::uint64_t mapped_bytes = 0;          // zero-copy receive: bytes mapped
  std::uint64_t copied_bytes = 0;          // ... and bytes copied
};

class SendPath {
 public:
  virtual ~SendPath() = default;
  virtual Status open(const PathContext& ctx) = 0;
  // Moves at most `max` more bytes; returns how many the kernel took (or completed).
  virtual IoResult send(std::size_t max) = 0;
  // Waits for work still in flight; returns the bytes it completed.
  virtual IoResult finish() { return {}; }
  virtual PathStats stats() const { return {}; }
};

class RecvPath {
 public:
  virtual ~RecvPath() = default;
  virtual Status open(const PathContext& ctx) = 0;
  // Returns bytes received (0 with err == 0 means the peer closed).
  virtual IoResult recv() = 0;
  virtual PathStats stats() const { return {}; }
};

}  // namespace nicperf
