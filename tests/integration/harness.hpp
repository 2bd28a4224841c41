// Runs the real nicperf binary: spawn, capture output to temp files, wait with a deadline and
// kill (by PID, only what this harness started) when a test goes wrong.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace harness {

// Debian's stock iperf3, the peer of the interop and authentication tests (./run installs it).
inline constexpr const char* kIperf3 = "/usr/bin/iperf3";

inline bool have_iperf3() {
  if (access(kIperf3, X_OK) == 0) return true;
  MESSAGE("skipping: iperf3 is not installed (apt-get install -y iperf3)");
  return false;
}

// iperf3 3.21, built from source beside Debian's 3.12, for what 3.12 does not have (its -f
// output, --json-stream-full-output, newer options): the tests that need it skip without it.
inline constexpr const char* kIperf321 = "/tmp/iperf321/src/iperf3";

inline bool have_iperf321() {
  if (access(kIperf321, X_OK) == 0) return true;
  MESSAGE("skipping: no iperf3 3.21 at /tmp/iperf321/src/iperf3");
  return false;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string temp_path() {
  char tmpl[] = "/tmp/nicperf-it.XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  return tmpl;
}

// A temp file holding `text`, removed however the test ends.
struct TempFile {
  std::string path = temp_path();
  explicit TempFile(const std::string& text = "") { std::ofstream(path) << text; }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { unlink(path.c_str()); }
};

// A JSON report's unsigned counter `key` (throws when it is missing, which fails the test).
inline std::uint64_t u64(const nlohmann::json& j, const char* key) {
  return j.at(key).get<std::uint64_t>();
}

class Proc {
 public:
  explicit Proc(std::vector<std::string> args) : Proc(NICPERF_BIN, std::move(args)) {}
  // Any program (an absolute path), e.g. Debian's iperf3 to interoperate with.
  Proc(const std::string& program, std::vector<std::string> args)
      : out_(temp_path()), err_(temp_path()) {
    args.insert(args.begin(), program);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_TRUNC, 0);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc() {
    if (running()) {
      kill(pid_, SIGKILL);
      wait(5);
    }
    unlink(out_.c_str());
    unlink(err_.c_str());
  }

  bool running() const { return pid_ > 0 && !status_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (running()) kill(pid_, sig);
  }

  // Exit code, 128+signal if killed, or -1 if it outlived the deadline (then it is killed).
  int wait(double seconds) {
    if (pid_ <= 0) return -2;
    if (status_) return *status_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return *status_;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        status_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }
  nlohmann::json json() const { return nlohmann::json::parse(out(), nullptr, false); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Entries of a directory (/proc/PID/fd, /proc/PID/task, a temp dir), without . and ..
inline int count_entries(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

// Runs nicperf with `args` and checks the usage-error contract: exit 2, one line on stderr
// starting "nicperf: error: ", nothing on stdout.
inline void check_usage_error(const std::vector<std::string>& args) {
  Proc p(args);
  CHECK(p.wait(10) == 2);
  std::string err = p.err();
  CHECK(err.rfind("nicperf: error: ", 0) == 0);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK(p.out().empty());
}

// A TCP port nobody listens on right now.
inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A TCP socket as /proc/PID/net/tcp and tcp6 list it (addresses and state in hex).
struct TcpSocket {
  int local_port = 0, remote_port = 0;
  std::string state;  // "01" established, "0A" listening
  std::string timer;  // "02:000001F4": keepalive due in 0x1F4 ticks
};

// The TCP sockets of the network namespace of process `pid` (0: this one).
inline std::vector<TcpSocket> tcp_sockets(pid_t pid = 0) {
  auto port_of = [](const std::string& address) {
    auto colon = address.rfind(':');
    return colon == std::string::npos ? 0 : std::stoi(address.substr(colon + 1), nullptr, 16);
  };
  std::vector<TcpSocket> out;
  std::string proc = pid ? "/proc/" + std::to_string(pid) : std::string("/proc/self");
  for (const char* file : {"/net/tcp", "/net/tcp6"}) {
    std::istringstream in(slurp(proc + file));
    std::string line, slot, local, remote, state, queues, timer;
    std::getline(in, line);  // the header
    while (in >> slot >> local >> remote >> state >> queues >> timer) {
      std::getline(in, line);
      out.push_back({port_of(local), port_of(remote), state, timer});
    }
  }
  return out;
}

// Whether a TCP socket listens on `port` in the namespace of process `pid` (0: this one). A
// server announcing its port on stderr, or a one-shot one, is waited for this way without a
// connection that would use it up.
inline bool listening(int port, pid_t pid = 0) {
  for (const TcpSocket& s : tcp_sockets(pid))
    if (s.state == "0A" && s.local_port == port) return true;
  return false;
}

// Waits until a server (any program; `pid` names its namespace) listens on `port`; false if it
// does not within `seconds`.
inline bool wait_listening(int port, pid_t pid = 0, double seconds = 10) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!listening(port, pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// How often `text` occurs in `in`.
inline int occurrences(const std::string& in, const std::string& text) {
  int n = 0;
  for (auto at = in.find(text); at != std::string::npos; at = in.find(text, at + text.size())) ++n;
  return n;
}

// Waits until `text` shows in the process's output `times` times.
inline bool wait_for_output(Proc& p, const std::string& text, double seconds = 5, int times = 1) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline && p.running()) {
    if (occurrences(p.out(), text) >= times) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// A server on a free port (-p 0), which prints the port it got.
class Server {
 public:
  explicit Server(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-s", "-p", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Proc>(args);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline && proc_->running()) {
      std::string text = proc_->out();
      auto at = text.find("Server listening on ");
      if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
        port_ = std::stoi(text.substr(at + 20));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  int port() const { return port_; }
  std::string port_arg() const { return std::to_string(port_); }
  Proc& proc() { return *proc_; }

  // Starts a client against this server.
  std::unique_ptr<Proc> start_client(std::vector<std::string> extra) const {
    std::vector<std::string> args = {"-c", "127.0.0.1", "-p", port_arg()};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Proc>(args);
  }
  // Runs a client against this server and waits for it.
  std::unique_ptr<Proc> client(std::vector<std::string> extra, double timeout = 30) {
    auto p = start_client(std::move(extra));
    p->wait(timeout);
    return p;
  }

 private:
  std::unique_ptr<Proc> proc_;
  int port_ = 0;
};

// A --rr latency summary's percentiles, in order (TCP and UDP request/response alike).
inline void check_latency_ordered(const nlohmann::json& l) {
  auto at = [&](const char* key) { return l.at(key).get<std::uint64_t>(); };
  CHECK(at("min") > 0);
  CHECK(at("min") <= at("p50"));
  CHECK(at("p50") <= at("p90"));
  CHECK(at("p90") <= at("p99"));
  CHECK(at("p99") <= at("p999"));
  CHECK(at("p999") <= at("max"));
}

}  // namespace harness
