// The UDP rendezvous hands each stream its socket and then must let go of it entirely: a
// registration left in the event loop's epoll set wakes the main thread for every datagram of
// the test (issue 19).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "nicperf/control/protocol.hpp"
#include "session/udp_rendezvous.hpp"

using namespace nicperf;

namespace {

// How many epoll sets of this process watch the file with inode `ino`.
int epoll_watchers_of(ino_t ino) {
  int watchers = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || target.string() != "anon_inode:[eventpoll]") continue;
    std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
    for (std::string line; std::getline(info, line);) {
      auto at = line.find(" ino:");
      if (line.rfind("tfd:", 0) != 0 || at == std::string::npos) continue;
      if (std::stoull(line.substr(at + 5), nullptr, 16) == ino) ++watchers;
    }
  }
  return watchers;
}

}  // namespace

TEST_CASE("a closed UDP rendezvous leaves no epoll registration on the stream's socket") {
  EventLoop loop;
  std::string cookie = make_cookie();
  UdpRendezvous rendezvous(loop, cookie);
  REQUIRE(rendezvous.open(asio::ip::make_address("127.0.0.1"), 1, TestSpec{}));
  int client = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(client >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(std::uint16_t(rendezvous.ports().at(0)));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  auto greeting = encode_greeting({ConnKind::kData, kProtocolVersion, 0, cookie});
  REQUIRE(send(client, greeting.data(), greeting.size(), 0) == ssize_t(greeting.size()));
  REQUIRE(loop.run_until(Clock::now() + std::chrono::seconds(5),
                         [&] { return !rendezvous.arrived().empty(); }));
  int fd = rendezvous.arrived().front().second;
  rendezvous.arrived().pop_front();
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  CHECK(epoll_watchers_of(st.st_ino) == 1);  // the greeting reader, while it answers
  rendezvous.close();
  CHECK(epoll_watchers_of(st.st_ino) == 0);
  close(fd);
  close(client);
}
