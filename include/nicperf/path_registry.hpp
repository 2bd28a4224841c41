// The table of send and receive paths.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "nicperf/send_path.hpp"

namespace nicperf {

enum PathCaps : unsigned {
  kCapZeroCopy = 1u << 0,   // user data is not copied into the kernel
  kCapAsync = 1u << 1,      // completions are reaped later
  kCapNeedsFile = 1u << 2,  // sends from the payload file's fd
  kCapDelivers = 1u << 3,   // recv: data reaches user space (can be verified)
  kCapNoIo = 1u << 4,       // the null path: moves nothing
};

struct SendPathInfo {
  const char* name;
  const char* summary;
  unsigned caps;
  std::string (*probe)();  // empty when usable here, else why not
  std::unique_ptr<SendPath> (*make)();
};

struct RecvPathInfo {
  const char* name;
  const char* summary;
  unsigned caps;
  std::string (*probe)();
  std::unique_ptr<RecvPath> (*make)();
};

std::span<const SendPathInfo> send_paths();
std::span<const RecvPathInfo> recv_paths();
const SendPathInfo* find_send_path(std::string_view name);
const RecvPathInfo* find_recv_path(std::string_view name);

// Factories, each defined in its own file in src/paths/.
std::unique_ptr<SendPath> make_send_write();
std::unique_ptr<SendPath> make_send_null();
std::unique_ptr<RecvPath> make_recv_read();
std::unique_ptr<RecvPath> make_recv_null();

}  // namespace nicperf
