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

#include "nicd/nicd.hpp"

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
          keep = send_json_line(it->fd, handle(line));
        }
        if (keep && it->in.size() > kMaxLine) {
          send_json_line(it->fd, failure("request line longer than 64 KiB"));
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

}  // namespace nicperf::nic
