#include "nicperf/path_registry.hpp"

#include <array>

namespace nicperf {
namespace {

std::string always() { return {}; }

const std::array kSendPaths = {
    SendPathInfo{"write", "write() from the pattern buffer (one copy into the kernel)", 0, always,
                 make_send_write},
    SendPathInfo{"null", "moves nothing; tests the framework itself", kCapNoIo, always,
                 make_send_null},
};

const std::array kRecvPaths = {
    RecvPathInfo{"read", "read() into a user buffer (one copy out of the kernel)", kCapDelivers,
                 always, make_recv_read},
    RecvPathInfo{"null", "reads nothing; pairs with the null send path", kCapNoIo, always,
                 make_recv_null},
};

template <class Info>
const Info* find(std::span<const Info> table, std::string_view name) {
  for (const auto& info : table)
    if (name == info.name) return &info;
  return nullptr;
}

}  // namespace

std::span<const SendPathInfo> send_paths() { return kSendPaths; }
std::span<const RecvPathInfo> recv_paths() { return kRecvPaths; }
const SendPathInfo* find_send_path(std::string_view name) { return find(send_paths(), name); }
const RecvPathInfo* find_recv_path(std::string_view name) { return find(recv_paths(), name); }

}  // namespace nicperf
