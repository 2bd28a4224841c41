// The table of send and receive paths.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "nicperf/paths/send_path.hpp"

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

// Factories and probes, each defined in its path's own file in src/paths/.
std::unique_ptr<SendPath> make_send_write();
std::unique_ptr<SendPath> make_send_sendfile();
std::unique_ptr<SendPath> make_send_splice();
std::unique_ptr<SendPath> make_send_zerocopy();
std::unique_ptr<SendPath> make_send_uring();
std::unique_ptr<SendPath> make_send_uring_zc();
std::unique_ptr<SendPath> make_send_null();
std::unique_ptr<RecvPath> make_recv_read();
std::unique_ptr<RecvPath> make_recv_discard();
std::unique_ptr<RecvPath> make_recv_uring();
std::unique_ptr<RecvPath> make_recv_zerocopy();
std::unique_ptr<RecvPath> make_recv_null();
// The probe of a path every Linux kernel has.
std::string probe_always();
std::string probe_zerocopy();
std::string probe_uring_send();
std::string probe_uring_send_zc();
std::string probe_uring_recv();
std::string probe_recv_zerocopy();

// A path's probe answer, asked once per path (keyed by its table entry): probes open sockets and
// rings, and --compare asks often. A path named in NICPERF_DISABLE_PATHS is unavailable.
std::string cached_probe_answer(const void* path, const char* name, std::string (*probe)());

// The entry of a path table with this name, or null.
template <class Info>
const Info* find_path(std::span<const Info> table, std::string_view name) {
  for (const auto& info : table)
    if (name == info.name) return &info;
  return nullptr;
}

// A probe's answer is cached (cached_probe_answer).
std::string path_unavailable(const SendPathInfo& info);
std::string path_unavailable(const RecvPathInfo& info);

}  // namespace nicperf
