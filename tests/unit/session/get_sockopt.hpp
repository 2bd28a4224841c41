// One int socket option read back, for the tests of the options nicperf sets.
#pragma once

#include <doctest/doctest.h>
#include <sys/socket.h>

inline int get_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  REQUIRE(getsockopt(fd, level, name, &v, &len) == 0);
  return v;
}
