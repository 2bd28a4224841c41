// Helpers the UDP datagram paths share (defined in src/dgram_header.cpp and udp_gso.cpp).
#pragma once

#include <cstddef>
#include <vector>

#include "nicperf/paths/dgram_path.hpp"

namespace nicperf {

// open()'s checks of a context: length, batch, pattern (and for senders, that one fits).
Status check_dgram_context(const DgramContext& ctx, bool sends);
// `batches` runs of ctx.batch datagrams, each datagram a copy of the pattern.
std::vector<char> pattern_batches(const DgramContext& ctx, int batches);
// Datagrams one UDP_SEGMENT send may carry: the whole send must still fit one IPv4 UDP payload.
std::size_t gso_datagrams_per_send(std::size_t datagram_len);
// A send path with one batch of pattern datagrams as its room(): open() checks the context and
// fills the buffer (the write, sendmmsg and gso paths; zerocopy keeps a pool instead).
class BatchDgramSend : public DgramSendPath {
 public:
  Status open(const DgramContext& ctx) override {
    if (auto st = check_dgram_context(ctx, true); !st) return st;
    ctx_ = ctx;
    buf_ = pattern_batches(ctx, 1);
    return ok();
  }
  char* room() override { return buf_.data(); }

 protected:
  DgramContext ctx_;
  std::vector<char> buf_;
};

// One sendmsg() of `n` contiguous datagrams of `len` bytes; 0 or an errno (EINTR retried).
int send_segmented(int fd, const char* data, std::size_t n, std::size_t len, int flags);

}  // namespace nicperf
