#include "nicperf/nic/nicd_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nicperf::nic {

namespace {
constexpr std::size_t kMaxLine = 64 * 1024;
}  // namespace

bool send_json_line(int fd, const nlohmann::json& reply) {
  std::string line = reply.dump() + "\n";
  std::size_t at = 0;
  while (at < line.size()) {
    ssize_t n = send(fd, line.data() + at, line.size() - at, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, 1000) <= 0) return false;  // a client that does not read is dropped
      continue;
    }
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

Expected<NicdClient> NicdClient::connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{Errc::kSystem, errno_text("socket", errno)};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    close(fd);
    return Error{Errc::kUsage, "NIC control socket path too long: " + path};
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    return Error{
        err == EACCES ? Errc::kAccessDenied : Errc::kConnect,
        errno_text("no nicperf-nicd answers on " + path + " (start one with 'nicperf-nicd up')",
                   err)};
  }
  timeval tv{10, 0};  // a daemon that stops answering must not hang its client
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return NicdClient(fd);
}

Expected<nlohmann::json> NicdClient::request(const nlohmann::json& req) {
  if (!send_json_line(fd_.get(), req)) {
    return Error{Errc::kConnect, errno_text("sending to nicperf-nicd", errno)};
  }
  std::size_t nl;
  while ((nl = buffered_.find('\n')) == std::string::npos) {
    char buf[8192];
    ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Error{n < 0 && errno == EAGAIN ? Errc::kTimeout : Errc::kProtocol,
                   "nicperf-nicd closed the control connection without a reply"};
    }
    buffered_.append(buf, static_cast<std::size_t>(n));
    if (buffered_.size() > 64 * kMaxLine) {
      return Error{Errc::kProtocol, "nicperf-nicd's reply is too long"};
    }
  }
  auto reply = nlohmann::json::parse(buffered_.substr(0, nl), nullptr, false);
  buffered_.erase(0, nl + 1);
  if (reply.is_discarded() || !reply.is_object()) {
    return Error{Errc::kProtocol, "nicperf-nicd sent a reply that is not a JSON object"};
  }
  if (!reply.value("ok", false)) {
    return Error{Errc::kUsage, "nicperf-nicd: " + reply.value("error", std::string("failed"))};
  }
  return reply;
}

}  // namespace nicperf::nic
