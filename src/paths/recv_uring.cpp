// io_uring multishot recv with a provided-buffer ring: one submission keeps receiving into
// buffers the kernel picks from the ring. A buffer goes back to the ring when the caller is
// done with it (at the next recv()). The request is re-armed whenever a completion lacks
// IORING_CQE_F_MORE, which happens when the ring ran dry (-ENOBUFS).
#include <sys/mman.h>

#include <cerrno>

#include "nicperf/paths/registry.hpp"
#include "paths/uring_util.hpp"

namespace nicperf {
namespace {

constexpr unsigned kBuffers = 64;  // a power of two, as the ring requires
constexpr std::size_t kBufferSize = 64 * 1024;
constexpr int kGroup = 0;

class UringRecv final : public RecvPath {
 public:
  Status open(const PathContext& ctx) override {
    fd_ = ctx.fd;
    if (auto st = ring_.init(16); !st) return st;
    if (auto st = buffers_.map(kBuffers * kBufferSize); !st) return st;
    if (auto st = setup_buffer_ring(); !st) return st;
    return arm();
  }

  IoResult recv() override {
    if (held_ >= 0) {
      give_back(unsigned(held_));
      held_ = -1;
    }
    for (;;) {
      if (!armed_ && !eof_)
        if (auto st = arm(); !st) return {0, EIO};
      io_uring_cqe* cqe = nullptr;
      int r = io_uring_wait_cqe(ring_.get(), &cqe);
      if (r == -EINTR) continue;
      if (r < 0) return {0, -r};
      int res = cqe->res;
      unsigned flags = cqe->flags;
      io_uring_cqe_seen(ring_.get(), cqe);
      if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
      if (res == -ENOBUFS) continue;  // re-armed above once buffers are back
      if (res < 0) return {0, -res};
      if (res == 0) {
        eof_ = true;
        return {0, 0};
      }
      held_ = int(flags >> IORING_CQE_BUFFER_SHIFT);
      return {std::size_t(res), 0, buffers_.data() + std::size_t(held_) * kBufferSize};
    }
  }

 private:
  static std::size_t ring_bytes() { return kBuffers * sizeof(io_uring_buf); }

  // liburing 2.3 has no io_uring_setup_buf_ring: map the ring and register it ourselves.
  Status setup_buffer_ring() {
    if (auto st = ring_memory_.map(ring_bytes()); !st) return st;
    br_ = reinterpret_cast<io_uring_buf_ring*>(ring_memory_.data());
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(br_);
    reg.ring_entries = kBuffers;
    reg.bgid = kGroup;
    int r = io_uring_register_buf_ring(ring_.get(), &reg, 0);
    if (r < 0) return Error{Errc::kSystem, errno_text("io_uring_register_buf_ring", -r)};
    io_uring_buf_ring_init(br_);
    for (unsigned i = 0; i < kBuffers; ++i)
      io_uring_buf_ring_add(br_, buffers_.data() + i * kBufferSize, kBufferSize, std::uint16_t(i),
                            io_uring_buf_ring_mask(kBuffers), int(i));
    io_uring_buf_ring_advance(br_, kBuffers);
    return ok();
  }

  void give_back(unsigned bid) {
    io_uring_buf_ring_add(br_, buffers_.data() + bid * kBufferSize, kBufferSize, std::uint16_t(bid),
                          io_uring_buf_ring_mask(kBuffers), 0);
    io_uring_buf_ring_advance(br_, 1);
  }

  Status arm() {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    int r = io_uring_submit(ring_.get());
    if (r < 0) return Error{Errc::kSystem, errno_text("io_uring_submit", -r)};
    armed_ = true;
    return ok();
  }

  int fd_ = -1;
  Mapping buffers_, ring_memory_;
  Ring ring_;  // after the memory it writes into: destroyed first
  io_uring_buf_ring* br_ = nullptr;
  int held_ = -1;
  bool armed_ = false, eof_ = false;
};

}  // namespace

std::string probe_uring_recv() {
  auto why = probe_uring_op(IORING_OP_RECV, "IORING_OP_RECV");
  if (!why.empty()) return why;
  // Multishot recv and buffer rings came later than IORING_OP_RECV: try registering one.
  Ring ring;
  if (auto st = ring.init(2); !st) return st.error().message;
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return errno_text("mmap", errno);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(m);
  reg.ring_entries = 1;
  int r = io_uring_register_buf_ring(ring.get(), &reg, 0);
  munmap(m, 4096);
  return r < 0 ? errno_text("this kernel lacks provided-buffer rings", -r) : "";
}

std::unique_ptr<RecvPath> make_recv_uring() { return std::make_unique<UringRecv>(); }

}  // namespace nicperf
