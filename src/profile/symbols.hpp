// Names for the addresses in a call chain: the kernel's from /proc/kallsyms, nicperf's own from
// its ELF symbol table (libelf), other user code by the library /proc/self/maps names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nicperf/profile/profile.hpp"

namespace nicperf {

// A perf call chain's context markers (PERF_CONTEXT_KERNEL, _USER, ...) sit in its top 4095
// values; everything else is an address.
inline bool is_context_marker(std::uint64_t ip) { return ip >= std::uint64_t(-4095); }

class Symbolizer {
 public:
  // Reads /proc/self/maps now; the kernel's and nicperf's tables are read once per process.
  Symbolizer();
  // A raw call chain (leaf first, with context markers) as named frames, leaf first.
  std::vector<StackFrame> frames(const std::vector<std::uint64_t>& chain) const;
  // Why kernel frames have no names, if they have none (kptr_restrict), else empty.
  const std::string& kernel_note() const;

 private:
  struct Map {
    std::uint64_t start = 0, end = 0, offset = 0;
    std::string path;
  };
  std::string user_name(std::uint64_t ip) const;
  std::vector<Map> maps_;
  std::string exe_;
};

}  // namespace nicperf
