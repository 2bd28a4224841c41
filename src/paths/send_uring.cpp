// io_uring sends: IORING_OP_SEND ("uring") and IORING_OP_SEND_ZC from a registered buffer
// ("uring-zc"). One call submits up to `depth` sends as one linked chain and reaps them all.
// The chain keeps the byte stream in order: two unlinked sends on one TCP socket could
// interleave their bytes when the first one comes back short. MSG_WAITALL makes the kernel
// finish a short send itself; if one still ends short, the links cancel the rest and the next
// call resubmits from the first byte not sent.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"
#include "paths/uring_util.hpp"

namespace nicperf {
namespace {

class UringSend final : public SendPath {
 public:
  explicit UringSend(bool zc) : zc_(zc) {}
  Status open(const PathContext& ctx) override {
    ctx_ = ctx;
    depth_ = unsigned(std::clamp(ctx.depth, 1, 256));
    // send-zc posts a result and a notification per send: room for both.
    if (auto st = ring_.init(depth_ * 2); !st) return st;
    base_ = ctx.payload->data();
    if (zc_) return register_buffer();
    return ok();
  }

  IoResult send(std::size_t max) override {
    std::vector<std::size_t> lens;
    std::uint64_t at = offset_;
    for (std::size_t budget = max; lens.size() < depth_ && budget > 0;) {
      std::size_t pos = at % ctx_.block_len;
      std::size_t len = std::min(ctx_.block_len - pos, budget);
      prep(io_uring_get_sqe(ring_.get()), pos, len, lens.size());
      lens.push_back(len);
      at += len;
      budget -= len;
    }
    last_->flags &= ~IOSQE_IO_LINK;  // the chain ends with this batch
    int r = io_uring_submit(ring_.get());
    if (r < 0) return {0, -r};
    return reap(lens);
  }

  PathStats stats() const override {
    PathStats s;
    if (zc_) {
      s.zerocopy_completions = notifs_;
      s.zerocopy_copied = copied_;
    }
    return s;
  }

 private:
  Status register_buffer() {
    // An anonymous copy: the kernel pins registered buffers long-term, which it refuses for
    // pages of a file on a disk filesystem such as the payload's.
    if (auto st = fixed_memory_.map(ctx_.block_len); !st) return st;
    fixed_ = fixed_memory_.data();
    std::memcpy(fixed_, ctx_.payload->data(), ctx_.block_len);
    base_ = fixed_;
    iovec iov{fixed_, ctx_.block_len};
    int r = io_uring_register_buffers(ring_.get(), &iov, 1);
    if (r < 0) return Error{Errc::kSystem, errno_text("io_uring_register_buffers", -r)};
    return ok();
  }

  void prep(io_uring_sqe* sqe, std::size_t pos, std::size_t len, std::size_t index) {
    if (zc_)
      io_uring_prep_send_zc_fixed(sqe, ctx_.fd, base_ + pos, len, MSG_WAITALL,
                                  IORING_SEND_ZC_REPORT_USAGE, 0);
    else
      io_uring_prep_send(sqe, ctx_.fd, base_ + pos, len, MSG_WAITALL);
    sqe->user_data = index;
    sqe->flags |= IOSQE_IO_LINK;
    last_ = sqe;
  }

  // Waits for every result (and, for send-zc, every notification) of one chain. Returns the
  // bytes of the unbroken prefix of the chain; the rest is resent by the next call.
  IoResult reap(const std::vector<std::size_t>& lens) {
    std::vector<int> res(lens.size(), 0);
    std::size_t results = 0, notifs_due = 0;
    while (results < lens.size() || notifs_due > 0) {
      io_uring_cqe* cqe = nullptr;
      int r = io_uring_wait_cqe(ring_.get(), &cqe);
      if (r == -EINTR) continue;
      if (r < 0) return {0, -r};
      if (cqe->flags & IORING_CQE_F_NOTIF) {
        --notifs_due;
        ++notifs_;
        if (std::uint32_t(cqe->res) & IORING_NOTIF_USAGE_ZC_COPIED) ++copied_;
      } else {
        res[std::size_t(cqe->user_data)] = cqe->res;
        ++results;
        if (cqe->flags & IORING_CQE_F_MORE) ++notifs_due;
      }
      io_uring_cqe_seen(ring_.get(), cqe);
    }
    std::size_t done = 0;
    int err = 0;
    for (std::size_t i = 0; i < lens.size(); ++i) {
      if (res[i] < 0) {
        err = res[i] == -ECANCELED || res[i] == -EINTR || res[i] == -EAGAIN ? 0 : -res[i];
        break;
      }
      done += std::size_t(res[i]);
      if (std::size_t(res[i]) < lens[i]) break;
    }
    offset_ += done;
    return {done, err};
  }

  bool zc_;
  PathContext ctx_;
  Mapping fixed_memory_;
  Ring ring_;  // after the memory it reads from: destroyed first
  unsigned depth_ = 1;
  const char* base_ = nullptr;
  char* fixed_ = nullptr;
  io_uring_sqe* last_ = nullptr;
  std::uint64_t offset_ = 0, notifs_ = 0, copied_ = 0;
};

}  // namespace

std::string probe_uring_send() { return probe_uring_op(IORING_OP_SEND, "IORING_OP_SEND"); }
std::string probe_uring_send_zc() { return probe_uring_op(IORING_OP_SEND_ZC, "IORING_OP_SEND_ZC"); }
std::unique_ptr<SendPath> make_send_uring() { return std::make_unique<UringSend>(false); }
std::unique_ptr<SendPath> make_send_uring_zc() { return std::make_unique<UringSend>(true); }

}  // namespace nicperf
