#include "nicperf/paths/registry.hpp"

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>

namespace nicperf {
std::string probe_always() { return {}; }

namespace {

const std::array kSendPaths = {
    SendPathInfo{"write", "write() from the pattern buffer (one copy into the kernel)", 0,
                 probe_always, make_send_write},
    SendPathInfo{"sendfile", "sendfile() from the payload file (no user-to-kernel copy)",
                 kCapZeroCopy | kCapNeedsFile, probe_always, make_send_sendfile},
    SendPathInfo{"splice", "vmsplice() the pattern pages into a pipe, splice() into the socket",
                 kCapZeroCopy, probe_always, make_send_splice},
    SendPathInfo{"zerocopy", "send(MSG_ZEROCOPY), completions from the error queue",
                 kCapZeroCopy | kCapAsync, probe_zerocopy, make_send_zerocopy},
    SendPathInfo{"uring", "io_uring IORING_OP_SEND, --uring-depth sends per linked chain",
                 kCapAsync, probe_uring_send, make_send_uring},
    SendPathInfo{"uring-zc", "io_uring send-zc from a registered buffer, with notifications",
                 kCapZeroCopy | kCapAsync, probe_uring_send_zc, make_send_uring_zc},
    SendPathInfo{"null", "moves nothing; tests the framework itself", kCapNoIo, probe_always,
                 make_send_null},
};

const std::array kRecvPaths = {
    RecvPathInfo{"read", "read() into a user buffer (one copy out of the kernel)", kCapDelivers,
                 probe_always, make_recv_read},
    RecvPathInfo{"discard", "recv(MSG_TRUNC): TCP drops the data without copying it", 0,
                 probe_always, make_recv_discard},
    RecvPathInfo{"uring", "io_uring multishot recv into a provided-buffer ring",
                 kCapDelivers | kCapAsync, probe_uring_recv, make_recv_uring},
    RecvPathInfo{"zerocopy", "TCP_ZEROCOPY_RECEIVE maps pages; the rest is copied",
                 kCapDelivers | kCapZeroCopy, probe_recv_zerocopy, make_recv_zerocopy},
    RecvPathInfo{"null", "reads nothing; pairs with the null send path", kCapNoIo, probe_always,
                 make_recv_null},
};

// NICPERF_DISABLE_PATHS=a,b takes paths out by hand (a path that misbehaves on some kernel).
bool disabled_by_env(const char* name) {
  const char* list = std::getenv("NICPERF_DISABLE_PATHS");
  if (!list) return false;
  std::string_view rest(list), want(name);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    if (rest.substr(0, comma) == want) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string cached_probe_answer(const void* path, const char* name, std::string (*probe)()) {
  static std::mutex mutex;
  static std::map<const void*, std::string> answers;
  std::lock_guard lock(mutex);
  auto it = answers.find(path);
  if (it == answers.end()) {
    std::string why = disabled_by_env(name) ? "disabled by NICPERF_DISABLE_PATHS" : probe();
    it = answers.emplace(path, why).first;
  }
  return it->second;
}

std::string path_unavailable(const SendPathInfo& info) {
  return cached_probe_answer(&info, info.name, info.probe);
}
std::string path_unavailable(const RecvPathInfo& info) {
  return cached_probe_answer(&info, info.name, info.probe);
}

std::span<const SendPathInfo> send_paths() { return kSendPaths; }
std::span<const RecvPathInfo> recv_paths() { return kRecvPaths; }
const SendPathInfo* find_send_path(std::string_view name) { return find_path(send_paths(), name); }
const RecvPathInfo* find_recv_path(std::string_view name) { return find_path(recv_paths(), name); }

}  // namespace nicperf
