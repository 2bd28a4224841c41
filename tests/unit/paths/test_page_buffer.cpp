// Receive buffers start on a page boundary, as iperf3's do (issue 19).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "nicperf/paths/registry.hpp"
#include "paths/page_buffer.hpp"

using namespace nicperf;

namespace {

bool page_aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % std::uintptr_t(sysconf(_SC_PAGESIZE)) == 0;
}

}  // namespace

TEST_CASE("a page buffer starts on a page boundary and moves its mapping") {
  PageBuffer a(128 * 1024 + 16);
  REQUIRE(a.data() != nullptr);
  CHECK(page_aligned(a.data()));
  CHECK(a.size() == 128 * 1024 + 16);
  a.data()[a.size() - 1] = 'x';
  PageBuffer b(std::move(a));
  CHECK(a.data() == nullptr);
  CHECK(b.data()[b.size() - 1] == 'x');
  CHECK(b.resize(0));
  CHECK(b.size() == 0);
}

TEST_CASE("the read receive path hands out data from a page-aligned buffer") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  auto path = find_recv_path("read")->make();
  REQUIRE(path->open(PathContext{sv[1], nullptr, 131072, 8}));
  std::string sent(1000, 'a');
  REQUIRE(write(sv[0], sent.data(), sent.size()) == ssize_t(sent.size()));
  IoResult r = path->recv();
  CHECK(r.err == 0);
  CHECK(r.bytes == sent.size());
  CHECK(page_aligned(r.data));
  CHECK(std::string(r.data, r.bytes) == sent);
  close(sv[0]);
  close(sv[1]);
}
