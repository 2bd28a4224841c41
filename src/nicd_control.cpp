// nicperf-nicd's control socket: the daemon's JSON-lines loop and the client both ends use.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>

#include "nicperf/nicd.hpp"

namespace nicperf::nic {

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kMaxClients = 16;
constexpr auto kIdle = std::chrono::seconds(60);

struct Conn {
  int fd = -1;
  std::string in;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
};

nlohmann::json failure(const std::string& why) { return {{"ok", false}, {"error", why}}; }

bool send_line(int fd, const nlohmann::json& reply) {
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

int signal_fd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

}  // namespace

void Nicd::serve() {
  int sig = signal_fd();
  std::list<Conn> conns;
  bool down = false;
  auto handle = [&](const std::string& line) -> nlohmann::json {
    auto req = nlohmann::json::parse(line, nullptr, false);
    if (req.is_discarded() || !req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
      return failure("a request is one JSON object with a \"cmd\" string per line");
    }
    std::string cmd = req["cmd"];
    nlohmann::json reply = {{"ok", true}};
    if (cmd == "info") {
      reply.update(info());
    } else if (cmd == "stats") {
      reply.update(stats());
    } else if (cmd == "reset") {
      if (auto s = reset(); !s) return failure(s.error().message);
    } else if (cmd == "set") {
      if (auto s = set(req.value("settings", nlohmann::json::object())); !s) {
        return failure(s.error().message);
      }
      reply["settings"] = info()["settings"];
    } else if (cmd == "down") {
      down = true;
    } else {
      return failure("unknown command '" + cmd + "' (info, stats, reset, set, down)");
    }
    return reply;
  };
  while (!down) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {sig, POLLIN, 0}};
    for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) break;  // SIGINT, SIGTERM, SIGHUP: go down cleanly
    if ((fds[0].revents & POLLIN) && conns.size() < kMaxClients) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        conns.emplace_back();
        conns.back().fd = fd;
      }
    }
    std::size_t i = 2;
    auto now = std::chrono::steady_clock::now();
    for (auto it = conns.begin(); it != conns.end(); ++i) {
      bool keep = now - it->last < kIdle;
      if (i < fds.size() && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[4096];
        ssize_t n = recv(it->fd, buf, sizeof buf, 0);
        keep = n > 0 || (n < 0 && errno == EAGAIN);
        if (n > 0) {
          it->in.append(buf, static_cast<std::size_t>(n));
          it->last = now;
        }
        for (std::size_t nl; keep && (nl = it->in.find('\n')) != std::string::npos;) {
          std::string line = it->in.substr(0, nl);
          it->in.erase(0, nl + 1);
          keep = send_line(it->fd, handle(line));
        }
        if (keep && it->in.size() > kMaxLine) {
          send_line(it->fd, failure("request line longer than 64 KiB"));
          keep = false;
        }
      }
      if (keep) {
        ++it;
      } else {
        close(it->fd);
        it = conns.erase(it);
      }
    }
  }
  for (auto& c : conns) close(c.fd);
  if (sig >= 0) close(sig);
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

NicdClient::~NicdClient() {
  if (fd_ >= 0) close(fd_);
}

Expected<nlohmann::json> NicdClient::request(const nlohmann::json& req) {
  if (!send_line(fd_, req)) {
    return Error{Errc::kConnect, errno_text("sending to nicperf-nicd", errno)};
  }
  std::size_t nl;
  while ((nl = buffered_.find('\n')) == std::string::npos) {
    char buf[8192];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
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
