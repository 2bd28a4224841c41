// BpfTracer's loaded half, shared by the loader (bpf_loader.cpp) and the set a peer on the same
// kernel joins (bpf_share.cpp). Only in a build with NICPERF_HAVE_BPF.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <string>
#include <type_traits>

#include "cost/bpf_tracer.hpp"
#include "irq_cost.skel.h"

namespace nicperf {

// How napi:napi_poll is traced: the raw tracepoint, its device's name found through the kernel's
// BTF (CO-RE), or where that cannot load, the classic tracepoint with tracefs's field offsets.
// NICPERF_BPF_NAPI=tracepoint forces the classic one (the tests run both).
enum class NapiProg { kNone, kRaw, kClassic };

using IrqCostBss = std::remove_pointer_t<decltype(irq_cost::bss)>;
using IrqCostData = std::remove_pointer_t<decltype(irq_cost::data)>;

struct BpfTracer::Impl {
  irq_cost* skel = nullptr;  // this process's loaded set; null for a joined one
  // "map:NAME", "prog:NAME", "link:NAME" -> fd: the skeleton's own, or a joined set's (owned)
  std::map<std::string, int> fds;
  IrqCostBss* bss = nullptr;
  IrqCostData* data = nullptr;
  std::size_t bss_len = 0, data_len = 0;  // a joined set's mappings of the globals
  int slot_base = 0;  // where this side's stream slots start (NP_GUEST_BASE when joined)
  int cpus = 0;
  int stats_fd = -1;  // BPF_ENABLE_STATS, held while the window is open
  NapiProg napi = NapiProg::kNone;

  int fd(const std::string& key) const {
    auto it = fds.find(key);
    return it == fds.end() ? -1 : it->second;
  }
  int map(const char* name) const { return fd(std::string("map:") + name); }
  ~Impl() {
    if (stats_fd >= 0) close(stats_fd);
    if (skel) {
      irq_cost::destroy(skel);
      return;
    }
    if (bss) munmap(bss, bss_len);
    if (data) munmap(data, data_len);
    for (const auto& [key, fd] : fds) close(fd);
  }
};

// The skeleton's maps, programs and links by name, for reading and for a peer to join.
void name_fds(irq_cost* skel, std::map<std::string, int>& out);

}  // namespace nicperf
