// One program set per kernel: the owner's maps, programs and links taken by its peer with
// pidfd_getfd, each checked against the peer's own loaded set before anything is written.
#ifdef NICPERF_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cost/bpf/irq_cost.h"
#include "cost/bpf_impl.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf {

namespace {

template <typename Info>
bool info_of(int fd, Info& info) {
  info = Info{};
  std::uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
}

bool same_map(int theirs, int mine) {
  bpf_map_info a, b;
  return info_of(theirs, a) && info_of(mine, b) && a.type == b.type && a.key_size == b.key_size &&
         a.value_size == b.value_size && a.max_entries == b.max_entries &&
         a.map_flags == b.map_flags && std::strncmp(a.name, b.name, sizeof a.name) == 0;
}

bool same_prog(int theirs, int mine) {
  bpf_prog_info a, b;
  return info_of(theirs, a) && info_of(mine, b) && a.type == b.type &&
         std::memcmp(a.tag, b.tag, sizeof a.tag) == 0 &&
         std::strncmp(a.name, b.name, sizeof a.name) == 0;
}

// A link must hold the program of the same name that was just checked.
bool link_holds(int link, int prog) {
  bpf_link_info l;
  bpf_prog_info p;
  return info_of(link, l) && info_of(prog, p) && l.prog_id == p.id;
}

void* map_globals(int fd, std::size_t& len) {
  bpf_map_info info;
  if (!info_of(fd, info) || !(info.map_flags & BPF_F_MMAPABLE)) return nullptr;
  auto page = std::size_t(sysconf(_SC_PAGESIZE));
  len = (std::size_t(info.value_size) + page - 1) / page * page;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? nullptr : p;
}

Error refused(const std::string& why) { return Error{Errc::kSystem, why}; }

}  // namespace

BpfShareOffer BpfTracer::offer() const {
  if (!impl_->skel) return {};
  return {getpid(), impl_->fds};
}

Expected<std::unique_ptr<BpfTracer>> BpfTracer::join(const BpfShareOffer& offer,
                                                     const BpfTracer& mine) {
  const Impl& own = *mine.impl_;
  if (!own.skel) return refused("this side's set is itself joined");
  UniqueFd pidfd(int(syscall(SYS_pidfd_open, offer.pid, 0)));
  if (!pidfd) return refused(std::string("pidfd_open: ") + std::strerror(errno));
  auto impl = std::make_unique<Impl>();
  impl->cpus = own.cpus;
  impl->napi = own.napi;
  impl->slot_base = NP_GUEST_BASE;
  for (const auto& [key, my_fd] : own.fds) {
    auto it = offer.fds.find(key);
    if (it == offer.fds.end()) return refused("the peer's set has no " + key);
    int fd = int(syscall(SYS_pidfd_getfd, pidfd.get(), it->second, 0));
    if (fd < 0) return refused(std::string("pidfd_getfd: ") + std::strerror(errno));
    impl->fds[key] = fd;  // closed by impl from here on
    bool kind_ok = key.rfind("map:", 0) == 0    ? same_map(fd, my_fd)
                   : key.rfind("prog:", 0) == 0 ? same_prog(fd, my_fd)
                                                : true;
    if (!kind_ok) return refused("the peer's " + key + " is not this build's");
  }
  for (const auto& [key, fd] : impl->fds)
    if (key.rfind("link:", 0) == 0 && !link_holds(fd, impl->fd("prog:" + key.substr(5))))
      return refused("the peer's " + key + " does not hold its program");
  int bss = impl->map(bpf_map__name(own.skel->maps.bss));
  int data = impl->map(bpf_map__name(own.skel->maps.data));
  impl->bss = static_cast<IrqCostBss*>(map_globals(bss, impl->bss_len));
  impl->data = static_cast<IrqCostData*>(map_globals(data, impl->data_len));
  if (!impl->bss || !impl->data) return refused("the peer's globals cannot be mapped");
  // The owner counts this process as its peer; setting it here too covers an owner whose own
  // set_peer comes after this side's window opened.
  impl->bss->peer_tgid = std::uint32_t(getpid());
  auto joined = std::unique_ptr<BpfTracer>(new BpfTracer(std::move(impl)));
  joined->next_generation();
  return joined;
}

}  // namespace nicperf
#endif
