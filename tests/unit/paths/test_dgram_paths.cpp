// Datagram paths: the header, and every send path against every receive path over loopback.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"
#include "nicperf/stream/payload.hpp"

using namespace nicperf;

namespace {

// Two UDP sockets on 127.0.0.1 connected to each other; `to_closed` points `a` at a port that
// nobody listens on instead.
struct UdpPair {
  int a = bound_socket(), b = bound_socket();
  explicit UdpPair(bool to_closed = false) {
    sockaddr_in sa = address_of(a), sb = address_of(b);
    REQUIRE(connect(a, reinterpret_cast<sockaddr*>(&sb), sizeof sb) == 0);
    REQUIRE(connect(b, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    if (to_closed) close(std::exchange(b, -1));
    int one = 1;  // as the UDP stream sets it on its senders
    REQUIRE(setsockopt(a, SOL_IP, IP_RECVERR, &one, sizeof one) == 0);
  }
  ~UdpPair() {
    if (a >= 0) close(a);
    if (b >= 0) close(b);
  }
  UdpPair(const UdpPair&) = delete;
  UdpPair& operator=(const UdpPair&) = delete;

  static int bound_socket() {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 200000};
    REQUIRE(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    int big = 4 << 20;  // root may go past rmem_max; nobody else needs to
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return fd;
  }
  static sockaddr_in address_of(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    return addr;
  }
};

std::string pattern_of(std::size_t len) {
  std::string p(len, '\0');
  for (std::size_t i = 0; i < len; ++i) p[i] = pattern_byte(i, len);
  return p;
}

std::int64_t send_ns_of(std::uint64_t seq) { return std::int64_t(seq) * 1000 - 50000; }

// What is wrong with datagram `d`, expected to be number `seq` of `total`; empty if nothing.
std::string check_datagram(const Datagram& d, std::uint64_t seq, std::uint64_t total,
                           const std::string& pattern) {
  std::string where = "datagram " + std::to_string(seq) + ": ";
  if (d.len != pattern.size()) return where + "length " + std::to_string(d.len);
  DgramHeader h;
  if (!read_dgram_header(d.data, d.len, h)) return where + "no header";
  if (h.seq != seq) return where + "seq " + std::to_string(h.seq);
  if (h.fin != (seq + 1 == total)) return where + "fin bit";
  if (h.send_ns != send_ns_of(seq)) return where + "send time";
  if (std::memcmp(d.data + kDgramHeaderSize, pattern.data() + kDgramHeaderSize,
                  d.len - kDgramHeaderSize) != 0)
    return where + "payload";
  return {};
}

// EINTR means call again, as the stream does: other tests leave signals about.
DgramResult recv_some(DgramRecvPath& path, std::span<Datagram> out) {
  for (;;)
    if (DgramResult got = path.recv(out); got.err != EINTR) return got;
}

struct Transfer {
  std::size_t received = 0;
  std::vector<std::size_t> per_call;  // datagrams each recv() returned
  std::string problem;                // the first thing that went wrong
  PathStats send_stats;
};

// Sends `total` stamped datagrams in batches, receiving each batch (into `room` slots a call)
// before the next goes.
Transfer transfer(const DgramSendPathInfo& s, const DgramRecvPathInfo& r, std::size_t len,
                  int batch, std::uint64_t total, std::size_t room = kMaxDgramBatch) {
  UdpPair pair;
  std::string pattern = pattern_of(len);
  auto sender = s.make();
  auto receiver = r.make();
  REQUIRE(sender->open(DgramContext{pair.a, len, batch, pattern.data()}));
  REQUIRE(receiver->open(DgramContext{pair.b, len, batch, pattern.data()}));
  Transfer t;
  std::vector<Datagram> out(room);
  for (std::uint64_t sent = 0; sent < total && t.problem.empty();) {
    std::size_t n = std::min<std::uint64_t>(std::uint64_t(batch), total - sent);
    char* at = sender->room();
    for (std::uint64_t seq = sent; seq < sent + n; ++seq)
      write_dgram_header(at + (seq - sent) * len, {seq, seq + 1 == total, send_ns_of(seq)});
    DgramResult res = sender->send(n);
    if (res.err != 0 || res.count != n) t.problem = "send: " + errno_text("err", res.err);
    sent += res.count;
    while (t.received < sent && t.problem.empty()) {
      DgramResult got = recv_some(*receiver, out);
      if (got.err != 0) t.problem = "recv: " + errno_text("err", got.err);
      t.per_call.push_back(got.count);
      for (std::size_t i = 0; i < got.count && t.problem.empty(); ++i)
        t.problem = check_datagram(out[i], t.received++, total, pattern);
    }
  }
  DgramResult fin = sender->finish();
  if (fin.err != 0 && t.problem.empty()) t.problem = "finish: " + errno_text("err", fin.err);
  fcntl(pair.b, F_SETFL, O_NONBLOCK);  // the check for strays need not wait out SO_RCVTIMEO
  if (recv_some(*receiver, out).count != 0 && t.problem.empty()) t.problem = "more than was sent";
  t.send_stats = sender->stats();
  return t;
}

template <class Info>
bool available(const Info& info) {
  std::string why = path_unavailable(info);
  if (!why.empty()) MESSAGE("skipping " << std::string(info.name) << ": " << why);
  return why.empty();
}

template <class Table>
void check_usage_error(Table table, const DgramContext& ctx) {
  for (const auto& info : table) {
    INFO(std::string(info.name));
    auto st = info.make()->open(ctx);
    CHECK((!st && st.error().code == Errc::kUsage));
  }
}

}  // namespace

TEST_CASE("the datagram header round-trips in network byte order, FIN bit and all") {
  char buf[kDgramHeaderSize];
  write_dgram_header(buf, {0x0102030405060708ull, true, -2});  // FIN is the top bit
  CHECK(std::string(buf, 8) == std::string("\x81\x02\x03\x04\x05\x06\x07\x08", 8));
  CHECK(std::string(buf + 8, 8) == std::string(7, '\xff') + '\xfe');
  for (DgramHeader h :
       {DgramHeader{0, false, 0}, DgramHeader{42, true, -1234567890123},
        DgramHeader{kDgramFinBit - 1, true, INT64_MIN}, DgramHeader{7, false, INT64_MAX}}) {
    write_dgram_header(buf, h);
    DgramHeader back;
    REQUIRE(read_dgram_header(buf, sizeof buf, back));
    CHECK(back.seq == h.seq);
    CHECK(back.fin == h.fin);
    CHECK(back.send_ns == h.send_ns);
  }
  DgramHeader short_one;
  CHECK_FALSE(read_dgram_header(buf, kDgramHeaderSize - 1, short_one));
}

TEST_CASE("the datagram tables find their paths by name") {
  for (const auto& info : dgram_send_paths()) CHECK(find_dgram_send_path(info.name) == &info);
  for (const auto& info : dgram_recv_paths()) {
    CHECK(find_dgram_recv_path(info.name) == &info);
    CHECK((info.caps & kCapDelivers) != 0);
  }
  const DgramSendPathInfo* zc = find_dgram_send_path("zerocopy");
  CHECK((zc && zc->caps == (kCapZeroCopy | kCapAsync)));
  CHECK_FALSE(find_dgram_send_path("sendfile"));
}

TEST_CASE("every datagram send path reaches every datagram receive path intact") {
  for (const auto& s : dgram_send_paths()) {
    if (!available(s)) continue;
    for (const auto& r : dgram_recv_paths()) {
      if (!available(r)) continue;
      for (std::size_t len : {std::size_t(1000), std::size_t(1337)}) {
        INFO(std::string(s.name) << " -> " << std::string(r.name) << ", " << len << " bytes");
        Transfer t = transfer(s, r, len, 16, 200);
        CHECK(t.problem == "");
        CHECK(t.received == 200);
      }
    }
  }
}

TEST_CASE("datagram batches larger than one UDP payload are split over several sends") {
  // 64 datagrams of 8000 bytes: gso and zerocopy need several UDP_SEGMENT sends per batch.
  for (const char* name : {"gso", "zerocopy", "sendmmsg"}) {
    const DgramSendPathInfo& s = *find_dgram_send_path(name);
    if (!available(s)) continue;
    INFO(std::string(name));
    Transfer t = transfer(s, *find_dgram_recv_path("recvmmsg"), 8000, kMaxDgramBatch, 300);
    CHECK(t.problem == "");
    CHECK(t.received == 300);
  }
}

TEST_CASE("a gro receiver splits a gso batch back into its datagrams") {
  const DgramSendPathInfo& gso = *find_dgram_send_path("gso");
  const DgramRecvPathInfo& gro = *find_dgram_recv_path("gro");
  if (!available(gso) || !available(gro)) return;
  Transfer whole = transfer(gso, gro, 1337, 16, 16);
  CHECK(whole.problem == "");
  CHECK(whole.per_call == std::vector<std::size_t>{16});  // one super-datagram
  // What does not fit comes on the following calls, before the next read.
  Transfer parts = transfer(gso, gro, 1337, 16, 32, 5);
  CHECK(parts.problem == "");
  CHECK(parts.per_call == std::vector<std::size_t>{5, 5, 5, 1, 5, 5, 5, 1});
}

TEST_CASE("a gso send of 64-byte datagrams carries more than --batch per call") {
  const DgramSendPathInfo& gso = *find_dgram_send_path("gso");
  const DgramRecvPathInfo& gro = *find_dgram_recv_path("gro");
  if (!available(gso) || !available(gro)) return;
  UdpPair pair;
  std::string pattern = pattern_of(64);
  auto sender = gso.make();
  auto receiver = gro.make();
  REQUIRE(sender->open(DgramContext{pair.a, 64, 4, pattern.data()}));
  REQUIRE(receiver->open(DgramContext{pair.b, 64, 4, pattern.data()}));
  std::size_t n = sender->per_call(4);
  CHECK(n == std::size_t(kMaxDgramBatch));  // 64 segments, 4 KiB: well under one UDP payload
  CHECK(receiver->per_call(4) == std::size_t(kMaxDgramBatch));
  for (std::uint64_t seq = 0; seq < n; ++seq)
    write_dgram_header(sender->room() + seq * 64, {seq, seq + 1 == n, send_ns_of(seq)});
  DgramResult sent = sender->send(n);
  REQUIRE(sent.err == 0);
  CHECK(sent.count == n);
  // One sendmsg() makes one super-datagram: a single GRO read returns all of it.
  std::vector<Datagram> out(kMaxDgramBatch);
  DgramResult got = recv_some(*receiver, out);
  REQUIRE(got.err == 0);
  CHECK(got.count == n);
  for (std::size_t i = 0; i < got.count; ++i) CHECK(check_datagram(out[i], i, n, pattern) == "");
  // 1460 bytes: as many as fit one IPv4 UDP payload, 44 (64240 bytes).
  auto big = gso.make();
  std::string pattern_1460 = pattern_of(1460);
  REQUIRE(big->open(DgramContext{pair.a, 1460, 1, pattern_1460.data()}));
  CHECK(big->per_call(1) == 44);
}

TEST_CASE("a gro receiver hands out a short last segment as it is") {
  const DgramRecvPathInfo& gro = *find_dgram_recv_path("gro");
  if (!available(gro) || !available(*find_dgram_send_path("gso"))) return;
  UdpPair pair;
  auto receiver = gro.make();
  REQUIRE(receiver->open(DgramContext{pair.b, 1000, 16, nullptr}));
  int segment = 1000;  // as a socket option, so one plain send() of 3.5 segments will do
  REQUIRE(setsockopt(pair.a, SOL_UDP, UDP_SEGMENT, &segment, sizeof segment) == 0);
  REQUIRE(send(pair.a, std::string(3500, 'x').data(), 3500, 0) == 3500);
  std::vector<Datagram> out(kMaxDgramBatch);
  REQUIRE(recv_some(*receiver, out).count == 4);
  CHECK(out[0].len == 1000);
  CHECK(out[3].len == 500);
}

TEST_CASE("a datagram receive timeout is EAGAIN with nothing received") {
  for (const auto& r : dgram_recv_paths()) {
    if (!available(r)) continue;
    INFO(std::string(r.name));
    UdpPair pair;
    auto receiver = r.make();
    REQUIRE(receiver->open(DgramContext{pair.b, 1000, 16, nullptr}));
    std::vector<Datagram> out(16);
    DgramResult got = recv_some(*receiver, out);
    CHECK(got.err == EAGAIN);
    CHECK(got.count == 0);
  }
}

TEST_CASE("datagram zero-copy sends report their completions") {
  const DgramSendPathInfo& zc = *find_dgram_send_path("zerocopy");
  if (!available(zc)) return;
  Transfer t = transfer(zc, *find_dgram_recv_path("read"), 1000, 16, 200);
  CHECK(t.problem == "");
  CHECK(t.send_stats.zerocopy_completions > 0);
  CHECK(t.send_stats.zerocopy_copied <= t.send_stats.zerocopy_completions);
}

TEST_CASE("a datagram send to a closed port reports ECONNREFUSED") {
  for (const auto& s : dgram_send_paths()) {
    if (!available(s)) continue;
    INFO(std::string(s.name));
    UdpPair pair(true);
    std::string pattern = pattern_of(100);
    auto sender = s.make();
    REQUIRE(sender->open(DgramContext{pair.a, 100, 4, pattern.data()}));
    int err = 0;
    for (int tries = 0; tries < 50 && err == 0; ++tries) {
      sender->room();
      DgramResult res = sender->send(4);
      if ((err = res.err) == 0) CHECK(res.count == 4);
      usleep(2000);  // for the ICMP to come back
    }
    CHECK(err == ECONNREFUSED);
  }
}

TEST_CASE("datagram paths refuse contexts outside the limits") {
  std::string pattern = pattern_of(kMaxDgramLen + 1);
  const DgramContext bad[] = {
      {-1, kDgramHeaderSize - 1, 1, pattern.data()},
      {-1, kMaxDgramLen + 1, 1, pattern.data()},
      {-1, 1000, 0, pattern.data()},
      {-1, 1000, kMaxDgramBatch + 1, pattern.data()},
  };
  for (const auto& ctx : bad) {
    INFO(ctx.datagram_len << " bytes, batch " << ctx.batch);
    check_usage_error(dgram_send_paths(), ctx);
    check_usage_error(dgram_recv_paths(), ctx);
  }
  INFO("no pattern");
  check_usage_error(dgram_send_paths(), DgramContext{-1, 1000, 1, nullptr});
}
