// iperf3's connection options end to end on loopback: --cntl-ka's keepalive timer on both
// control connections, -m's MPTCP handshake, -L's flow label on the wire, and
// --server-bitrate-limit ending tests for nicperf and stock iperf3 clients.
#include <doctest/doctest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>

#include <atomic>

#include "harness.hpp"

using harness::kIperf321;
using harness::Proc;

namespace {

// The control connections' keepalive timers: /proc/net/tcp{,6} lines whose local or remote
// port is `port` with timer 2 (keepalive) pending, as "when" values in clock ticks.
std::vector<long> keepalive_timers(int port) {
  std::vector<long> whens;
  for (const harness::TcpSocket& s : harness::tcp_sockets()) {
    bool ours = s.local_port == port || s.remote_port == port;
    if (ours && s.state == "01" && s.timer.rfind("02:", 0) == 0)
      whens.push_back(std::stol(s.timer.substr(3), nullptr, 16));
  }
  return whens;
}

// A counter of the kernel's MPTCP MIB (/proc/net/netstat's MPTcpExt lines), -1 without MPTCP.
long mptcp_counter(const std::string& name) {
  std::ifstream in("/proc/net/netstat");
  std::string names, values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind("MPTcpExt:", 0) != 0) continue;
    std::istringstream n(names), v(values);
    std::string key, value;
    while (n >> key && v >> value)
      if (key == name) return std::stol(value);
  }
  return -1;
}

bool mptcp_here() {
  std::ifstream in("/proc/sys/net/mptcp/enabled");
  int on = 0;
  return (in >> on) && on == 1;
}

}  // namespace

TEST_CASE("--cntl-ka: both control connections carry a keepalive timer of the idle time") {
  harness::Server s({"--cntl-ka=40/5/3"});
  Proc c({"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "3", "-b", "10M", "--cntl-ka=30/5/3"});
  std::vector<long> whens;
  for (int i = 0; i < 100 && whens.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    whens = keepalive_timers(s.port());
  }
  CHECK(c.wait(30) == 0);
  REQUIRE(whens.size() == 2);  // the client's and the server's end; no data connection has one
  std::sort(whens.begin(), whens.end());
  CHECK(whens[0] <= 30 * 100);  // clock ticks (USER_HZ 100) until the first probe
  CHECK(whens[0] > 25 * 100);
  CHECK(whens[1] <= 40 * 100);
  CHECK(whens[1] > 35 * 100);
  // Without the option no connection of the test keeps a keepalive timer.
  harness::Server plain;
  Proc p({"-c", "127.0.0.1", "-p", plain.port_arg(), "-t", "2", "-b", "10M"});
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(keepalive_timers(plain.port()).empty());
  CHECK(p.wait(30) == 0);
}

TEST_CASE("-m: the data connections are MPTCP end to end (refused where the kernel has none)") {
  if (!mptcp_here()) {
    harness::check_usage_error({"-c", "127.0.0.1", "-m", "-t", "1"});
    harness::check_usage_error({"-s", "-m", "-p", "0"});
    MESSAGE("skipping the MPTCP handshake check: net.mptcp.enabled is not 1 here");
    return;
  }
  harness::Server s({"-m"});
  long before = mptcp_counter("MPCapableSYNACKRX");  // MPTCP SYN-ACKs clients received
  auto c = s.client({"-m", "-P", "2", "-n", "20M", "-J"});
  CHECK(c->wait(30) == 0);
  CHECK(mptcp_counter("MPCapableSYNACKRX") - before >= 2);  // both data connections
  auto j = c->json();
  CHECK(j["end"]["sum_received"]["bytes"].get<std::uint64_t>() == 20u << 20);
  // A plain client still gets plain TCP from the MPTCP listener.
  before = mptcp_counter("MPCapableSYNACKRX");
  CHECK(s.client({"-n", "10M"})->wait(30) == 0);
  CHECK(mptcp_counter("MPCapableSYNACKRX") == before);
  // Without -m a server listens with plain TCP: a -m client falls back to it.
  harness::Server tcp;
  before = mptcp_counter("MPCapableSYNACKRX");
  CHECK(tcp.client({"-m", "-n", "10M"})->wait(30) == 0);
  CHECK(mptcp_counter("MPCapableSYNACKRX") == before);
  // A stock iperf3 3.21 client's -m: the -m server's listener answers with MPTCP.
  if (access(kIperf321, X_OK) != 0) {
    MESSAGE("skipping the iperf3 -m check: no iperf3 3.21 at " << kIperf321);
    return;
  }
  before = mptcp_counter("MPCapableSYNACKRX");
  Proc stock(kIperf321, {"-c", "127.0.0.1", "-p", s.port_arg(), "-m", "-n", "10M"});
  CHECK(stock.wait(30) == 0);
  CHECK(mptcp_counter("MPCapableSYNACKRX") - before >= 1);
}

// Captures IPv6 TCP packets on lo to `port` and counts those with flow label `label`.
class FlowCapture {
 public:
  FlowCapture(int port, std::uint32_t label) : port_(port), label_(label) {
    fd_ = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IPV6));
    if (fd_ < 0) return;
    int buffer = 8 << 20;  // loopback's 64 KB segments: room for many
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_IPV6);
    at.sll_ifindex = int(if_nametoindex("lo"));
    bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at);
    thread_ = std::thread([this] { loop(); });
  }
  ~FlowCapture() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int matching() const { return matching_; }
  int others() const { return others_; }

 private:
  void loop() {
    unsigned char p[2048];
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 50) <= 0) continue;
      ssize_t n = recv(fd_, p, sizeof p, 0);
      if (n < 44 || p[6] != IPPROTO_TCP) continue;    // IPv6 header (40) + TCP ports
      if (((p[42] << 8) | p[43]) != port_) continue;  // to the server
      std::uint32_t label = (std::uint32_t(p[1] & 0x0f) << 16) | (p[2] << 8) | p[3];
      (label == label_ ? matching_ : others_)++;
    }
  }
  int fd_ = -1, port_;
  std::uint32_t label_;
  std::atomic<bool> stop_{false};
  std::atomic<int> matching_{0}, others_{0};
  std::thread thread_;
};

TEST_CASE("-L: the IPv6 data connections carry the flow label on the wire" *
          doctest::test_suite("root")) {
  if (geteuid() != 0) {
    MESSAGE("skipping: capturing on lo (AF_PACKET) needs root");
    return;
  }
  harness::Server s({"-6"});
  if (s.port() == 0) {
    MESSAGE("skipping: no IPv6 loopback (::1) here");
    return;
  }
  {
    FlowCapture cap(s.port(), 0x12345);
    REQUIRE(cap.ok());
    Proc c({"-c", "::1", "-p", s.port_arg(), "-L", "0x12345", "-P", "2", "-n", "4M"});
    CHECK(c.wait(30) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(cap.matching() >= 5);  // the data segments (64 KB each on lo), both streams
    CHECK(cap.others() > 0);     // the control connection keeps the kernel's own label
  }
  harness::Server dual;  // reached over IPv4: -L is refused once the address is known
  harness::check_usage_error({"-c", "127.0.0.1", "-p", dual.port_arg(), "-L", "5", "-t", "1"});
  if (access(kIperf321, X_OK) == 0) {  // a stock client's -L is its own: the server serves it
    FlowCapture cap(s.port(), 0x54321);
    Proc stock(kIperf321, {"-c", "::1", "-p", s.port_arg(), "-L", "0x54321", "-n", "2M"});
    CHECK(stock.wait(30) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(cap.matching() >= 5);
  }
}

TEST_CASE(
    "--server-bitrate-limit: a test asking for more is refused and one averaging more ended") {
  harness::Server s({"--server-bitrate-limit", "10M/1"});
  auto asks = s.client({"-b", "50M", "-t", "3"});
  CHECK(asks->wait(10) == 4);
  CAPTURE(asks->err());
  std::string refusal = asks->err();
  CHECK(refusal.find("above the server's limit of 10.0 Mbits/sec") != std::string::npos);
  CHECK(std::count(refusal.begin(), refusal.end(), '\n') == 1);
  auto fast = s.client({"-t", "5"});  // unpaced: far above 10 Mbit/s within the first second
  CHECK(fast->wait(15) == 4);
  CAPTURE(fast->err());
  CHECK(fast->err().find("averaged") != std::string::npos);
  CHECK(fast->err().find("--server-bitrate-limit") != std::string::npos);
  auto slow = s.client({"-b", "4M", "-t", "3"});
  CHECK(slow->wait(15) == 0);
  std::string log = s.proc().out();
  CHECK(log.find("above the server's limit") != std::string::npos);
  CHECK(log.find("averaged") != std::string::npos);
  // Stock iperf3 clients get IETOTALRATE: their own text for it.
  if (!harness::have_iperf3()) return;
  Proc stock(harness::kIperf3, {"-c", "127.0.0.1", "-p", s.port_arg(), "-b", "50M", "-t", "2"});
  CHECK(stock.wait(15) != 0);
  CHECK((stock.out() + stock.err()).find("total required bandwidth is larger than server limit") !=
        std::string::npos);
  Proc running(harness::kIperf3, {"-c", "127.0.0.1", "-p", s.port_arg(), "-t", "5"});
  CHECK(running.wait(20) != 0);
  CHECK((running.out() + running.err())
            .find("total required bandwidth is larger than server limit") != std::string::npos);
}
