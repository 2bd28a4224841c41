#include "nicd/xsk_port.hpp"

#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "nicd/nic_packet.hpp"

namespace nicperf::nic {

namespace {

// libxdp and libbpf narrate (no bpffs: a single program; ELF sections they skip) on stderr;
// nicd says what failed itself.
int quiet(enum libxdp_print_level, const char*, va_list) { return 0; }

}  // namespace

Expected<std::unique_ptr<XskPort>> XskPort::open(const std::string& ifname, unsigned queue,
                                                 std::uint32_t rx_buffers,
                                                 std::uint32_t frame_size) {
  std::unique_ptr<XskPort> p(new XskPort());
  p->rx_buffers_ = std::min(rx_buffers, kDeviceRing);
  p->frame_size_ = frame_size;
  if (auto s = p->setup(ifname, queue); !s) return s.error();
  return p;
}

Status XskPort::setup(const std::string& ifname, unsigned queue) {
  libxdp_set_print(quiet);
  libbpf_set_print(nullptr);
  std::uint32_t ring = kDeviceRing, frame = frame_size_;
  area_size_ = std::size_t{2} * ring * frame;
  void* area =
      mmap(nullptr, area_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return Error{Errc::kSystem, errno_text("mmap (UMEM)", errno)};
  area_ = static_cast<std::uint8_t*>(area);
  xsk_umem_config ucfg{ring, ring, frame, kHeaderRoom, 0};
  std::string where = ifname + " queue " + std::to_string(queue);
  if (int rc = xsk_umem__create(&umem_, area_, area_size_, &fill_, &comp_, &ucfg); rc != 0) {
    return Error{Errc::kSystem, errno_text("xsk_umem__create on " + where, -rc)};
  }
  xsk_socket_config cfg{};
  cfg.rx_size = ring;
  cfg.xdp_flags = XDP_FLAGS_DRV_MODE;
  // The wake-up flags decide the kicks (the transmit socket shares them through the UMEM's
  // pool). In copy mode the TX flag stays raised, since the kernel transmits only in sendto, and
  // the fill ring's never is: the XDP program takes buffers from it itself.
  cfg.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP;
  if (int rc = xsk_socket__create(&xsk_, ifname.c_str(), queue, umem_, &rx_, nullptr, &cfg);
      rc != 0) {
    return Error{Errc::kSystem,
                 errno_text("AF_XDP socket (native XDP, copy mode) on " + where, -rc)};
  }
  fd_ = xsk_socket__fd(xsk_);
  if (auto s = open_tx(ifname, queue); !s) return s;
  for (std::uint32_t i = ring; i > 0; --i) spare_.push_back(std::uint64_t{i - 1} * frame);
  refill();
  for (std::uint32_t i = ring; i < 2 * ring; ++i) tx_free_.push_back(std::uint64_t{i} * frame);
  return ok();
}

// Transmits go through a second socket on the same queue and UMEM (XDP_SHARED_UMEM), made with
// the kernel's calls because libxdp 1.3's shared sockets share its program bookkeeping and free
// it twice. Why two: in copy mode every poll() of a socket with a TX ring transmits from it
// (the kernel keeps its TX wake-up flag raised), under the socket's mutex. The other
// direction's thread polls the RX socket to sleep; on one socket it spun on that mutex while
// this direction's sendto ran the host's stack (7% of the CPU in a TCP profile).
Status XskPort::open_tx(const std::string& ifname, unsigned queue) {
  std::string where = "the transmit socket on " + ifname + " queue " + std::to_string(queue);
  tx_fd_ = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (tx_fd_ < 0) return Error{Errc::kSystem, errno_text("AF_XDP socket", errno)};
  int entries = static_cast<int>(kDeviceRing);
  if (setsockopt(tx_fd_, SOL_XDP, XDP_TX_RING, &entries, sizeof entries) != 0) {
    return Error{Errc::kSystem, errno_text("XDP_TX_RING on " + where, errno)};
  }
  xdp_mmap_offsets off{};
  socklen_t len = sizeof off;
  if (getsockopt(tx_fd_, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) != 0) {
    return Error{Errc::kSystem, errno_text("XDP_MMAP_OFFSETS on " + where, errno)};
  }
  tx_map_size_ = off.tx.desc + std::size_t{kDeviceRing} * sizeof(xdp_desc);
  void* map = mmap(nullptr, tx_map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, tx_fd_,
                   XDP_PGOFF_TX_RING);
  if (map == MAP_FAILED) return Error{Errc::kSystem, errno_text("mmap of " + where, errno)};
  tx_map_ = static_cast<std::uint8_t*>(map);
  tx_.mask = kDeviceRing - 1;
  tx_.size = kDeviceRing;
  tx_.producer = reinterpret_cast<std::uint32_t*>(tx_map_ + off.tx.producer);
  tx_.consumer = reinterpret_cast<std::uint32_t*>(tx_map_ + off.tx.consumer);
  tx_.flags = reinterpret_cast<std::uint32_t*>(tx_map_ + off.tx.flags);
  tx_.ring = tx_map_ + off.tx.desc;
  tx_.cached_prod = *tx_.producer;
  tx_.cached_cons = *tx_.consumer + kDeviceRing;  // libxdp's convention: free = cached_cons - prod
  sockaddr_xdp addr{};
  addr.sxdp_family = AF_XDP;
  addr.sxdp_ifindex = if_nametoindex(ifname.c_str());
  addr.sxdp_queue_id = queue;
  addr.sxdp_flags = XDP_SHARED_UMEM;  // copy mode and the fill/completion rings: the RX socket's
  addr.sxdp_shared_umem_fd = static_cast<std::uint32_t>(fd_);
  if (bind(tx_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Error{Errc::kSystem, errno_text("bind of " + where, errno)};
  }
  return ok();
}

XskPort::~XskPort() {
  if (tx_map_) munmap(tx_map_, tx_map_size_);
  if (tx_fd_ >= 0) close(tx_fd_);
  if (xsk_) xsk_socket__delete(xsk_);
  if (umem_) xsk_umem__delete(umem_);
  if (area_) munmap(area_, area_size_);
}

// The header a TAP would have put in front (no GSO, the checksum already in the frame) goes
// into the UMEM headroom just before the frame, so the frame stays where the kernel wrote it.
bool XskPort::take(Held& frame) {
  if (rx_used_ == rx_got_) {
    end_receive();
    rx_got_ = xsk_ring_cons__peek(&rx_, kBatch, &rx_idx_);
    if (rx_got_ == 0) return false;
  }
  const xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, rx_idx_ + rx_used_);
  ++rx_used_;
  auto* data = static_cast<std::uint8_t*>(xsk_umem__get_data(area_, d->addr));
  static_assert(sizeof(VnetHdr) <= kHeaderRoom);
  VnetHdr hdr;
  std::memcpy(data - sizeof hdr, &hdr, sizeof hdr);
  frame = {data - sizeof hdr, sizeof hdr + d->len, d->addr};
  return true;
}

// The descriptors read from the RX ring go back to the kernel, and the buffers the model
// delivered to the fill ring, in one batch each.
void XskPort::end_receive() {
  if (rx_used_ > 0) {
    xsk_ring_cons__release(&rx_, rx_used_);
    rx_idx_ += rx_used_;
    rx_got_ -= rx_used_;
    rx_used_ = 0;
  }
  if (returned_.empty()) return;
  // A data offset within the frame is the kernel's headroom: the fill ring takes frame starts.
  for (std::uint64_t addr : returned_) spare_.push_back(addr - addr % frame_size_);
  circulating_ -= static_cast<std::uint32_t>(returned_.size());
  returned_.clear();
  refill();
}

void XskPort::set_rx_buffers(std::uint32_t n) {
  rx_buffers_ = std::min(n, kDeviceRing);
  refill();
}

// Tops the circulating buffers up to --ring; a smaller --ring takes effect as buffers return.
void XskPort::refill() {
  std::uint32_t want = rx_buffers_ > circulating_ ? rx_buffers_ - circulating_ : 0;
  want = std::min(want, static_cast<std::uint32_t>(spare_.size()));
  std::uint32_t idx = 0;
  if (want == 0 || xsk_ring_prod__reserve(&fill_, want, &idx) != want) return;
  for (std::uint32_t i = 0; i < want; ++i) {
    *xsk_ring_prod__fill_addr(&fill_, idx + i) = spare_.back();
    spare_.pop_back();
  }
  xsk_ring_prod__submit(&fill_, want);
  circulating_ += want;
  if (xsk_ring_prod__needs_wakeup(&fill_)) {
    recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
  }
}

std::uint32_t XskPort::rx_occupancy() {
  std::uint32_t on_fill = *fill_.producer - __atomic_load_n(fill_.consumer, __ATOMIC_ACQUIRE);
  return circulating_ - std::min(on_fill, circulating_);
}

bool XskPort::send(std::span<const iovec> frame, std::size_t len) {
  if (len <= sizeof(VnetHdr) || len - sizeof(VnetHdr) > frame_size_ - kHeadroom) return false;
  std::lock_guard lock(tx_mutex_);
  if (tx_free_.empty()) reclaim();
  if (tx_free_.empty()) flush_locked();  // the kernel holds them all: let it finish some
  std::uint32_t idx = 0;
  if (tx_free_.empty() || xsk_ring_prod__reserve(&tx_, 1, &idx) != 1) return false;
  std::uint64_t addr = tx_free_.back();
  tx_free_.pop_back();
  auto* out = static_cast<std::uint8_t*>(xsk_umem__get_data(area_, addr));
  std::size_t skip = sizeof(VnetHdr), at = 0;
  for (const iovec& v : frame) {
    std::size_t from = std::min(skip, v.iov_len);
    skip -= from;
    std::memcpy(out + at, static_cast<const std::uint8_t*>(v.iov_base) + from, v.iov_len - from);
    at += v.iov_len - from;
  }
  xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx);
  d->addr = addr;
  d->len = static_cast<std::uint32_t>(len - sizeof(VnetHdr));
  d->options = 0;
  if (++tx_queued_ >= kBatch) flush_locked();
  return true;
}

void XskPort::flush() {
  std::lock_guard lock(tx_mutex_);
  flush_locked();
}

void XskPort::flush_locked() {
  if (tx_queued_ > 0) {
    xsk_ring_prod__submit(&tx_, tx_queued_);
    tx_queued_ = 0;
  }
  kick();
  reclaim();
}

// Copy mode transmits inside sendto, a bounded batch (32) per call: kick until the ring is
// drained.
void XskPort::kick() {
  for (int i = 0; i < 256 && xsk_ring_prod__needs_wakeup(&tx_); ++i) {
    if (__atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE) == *tx_.producer) return;
    if (sendto(tx_fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) continue;
    if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS) return;
  }
}

// The kernel's own count: no buffer on the fill ring, or no room on the RX ring.
std::uint64_t XskPort::rx_dropped() {
  xdp_statistics st{};
  socklen_t len = sizeof st;
  if (getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &st, &len) != 0) return 0;
  return st.rx_dropped + st.rx_ring_full;
}

void XskPort::reclaim() {
  std::uint32_t idx = 0;
  std::uint32_t n = xsk_ring_cons__peek(&comp_, kDeviceRing, &idx);
  for (std::uint32_t i = 0; i < n; ++i) {
    tx_free_.push_back(*xsk_ring_cons__comp_addr(&comp_, idx + i));
  }
  xsk_ring_cons__release(&comp_, n);
}

}  // namespace nicperf::nic
