// What the MSG_ZEROCOPY paths (TCP send_zerocopy.cpp, UDP udp_zerocopy.cpp) share: reading the
// completion ranges off the error queue, and the SO_ZEROCOPY probe.
#pragma once

// clang-format off
#include <time.h>  // before linux/errqueue.h, which uses struct timespec without including it
#include <linux/errqueue.h>
// clang-format on
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "nicperf/util/error.hpp"

namespace nicperf {

// Reads the error queue without waiting. Each zero-copy completion range [lo, hi] of send
// sequence numbers goes to on_range(lo, hi, copied) (copied: SO_EE_CODE_ZEROCOPY_COPIED, the
// kernel copied after all); any other queued error with an errno (ICMP, local) to
// on_error(errno). Returns the completion messages read (0 if none waited), or -errno.
template <class OnRange, class OnError>
int read_zerocopy_errqueue(int fd, OnRange on_range, OnError on_error) {
  int count = 0;
  for (;;) {
    char control[128];
    msghdr msg{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK ? count : -errno;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      bool recverr = (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                     (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!recverr) continue;
      auto* ee = reinterpret_cast<sock_extended_err*>(CMSG_DATA(c));
      if (ee->ee_origin == SO_EE_ORIGIN_ZEROCOPY) {
        if (ee->ee_errno != 0) continue;
        on_range(ee->ee_info, ee->ee_data, (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0);
        ++count;
        continue;
      }
      bool failure = ee->ee_origin == SO_EE_ORIGIN_ICMP || ee->ee_origin == SO_EE_ORIGIN_ICMP6 ||
                     ee->ee_origin == SO_EE_ORIGIN_LOCAL;
      if (failure && ee->ee_errno != 0) on_error(int(ee->ee_errno));
    }
  }
}

// Empty when a socket of `type` takes SO_ZEROCOPY here, else why not.
inline std::string probe_so_zerocopy(int type, const std::string& refusal) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return errno_text("socket", errno);
  int one = 1;
  int r = setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one);
  int err = errno;
  close(fd);
  return r == 0 ? "" : errno_text(refusal, err);
}

}  // namespace nicperf
