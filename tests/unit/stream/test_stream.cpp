#include <doctest/doctest.h>
#include <sys/socket.h>

#include <memory>

#include "nicperf/results/results.hpp"
#include "nicperf/stream/payload.hpp"
#include "nicperf/stream/stream.hpp"

using namespace nicperf;

namespace {

// Two streams of one kind over a socketpair, run to the end.
struct Pair {
  std::unique_ptr<Stream> sender, receiver;
};

Pair run_pair(Mode kind, std::uint64_t budget, std::size_t block_len) {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  auto payload = Payload::create(block_len, false);
  REQUIRE(payload);
  StreamConfig cfg;
  cfg.kind = kind;
  cfg.block_len = block_len;
  cfg.req_len = 100;
  cfg.resp_len = 10;
  Pair p;
  StreamConfig send_cfg = cfg, recv_cfg = cfg;
  send_cfg.sender = true;
  send_cfg.fd = fds[0];
  send_cfg.byte_budget = budget;
  send_cfg.path = "write";
  recv_cfg.fd = fds[1];
  recv_cfg.verify = kind == Mode::kBulk;
  recv_cfg.path = "read";
  p.sender = std::make_unique<Stream>(send_cfg, nullptr);
  p.receiver = std::make_unique<Stream>(recv_cfg, nullptr);
  for (auto* s : {p.sender.get(), p.receiver.get()}) {
    REQUIRE(s->open(*payload));
    s->start();
    s->release();
  }
  p.sender->join();
  p.receiver->join();
  return p;
}

}  // namespace

TEST_CASE("check_path is the one place a stream's path is looked up and probed") {
  CHECK(check_path(Mode::kBulk, true, "write", "here"));
  CHECK(check_path(Mode::kBulk, false, "read", "here"));
  CHECK(check_path(Mode::kRr, true, "anything", "here"));  // --rr has one path
  auto tcp = check_path(Mode::kBulk, true, "pigeon", "here");
  REQUIRE_FALSE(tcp);
  CHECK(tcp.error().code == Errc::kUsage);
  CHECK(tcp.error().message == "unknown send mode 'pigeon'");
  auto udp = check_path(Mode::kDatagram, false, "pigeon", "on the server");
  REQUIRE_FALSE(udp);
  CHECK(udp.error().message == "unknown UDP receive mode 'pigeon'");
}

TEST_CASE("a bulk stream moves its budget and the receiver verifies every byte") {
  Pair p = run_pair(Mode::kBulk, 1 << 20, 64 * 1024);
  CHECK(p.sender->error() == "");
  CHECK(p.receiver->error() == "");
  CHECK(p.sender->bytes() == 1 << 20);
  CHECK(p.receiver->bytes() == 1 << 20);
  StreamEnd e;
  p.receiver->end_figures(e);
  CHECK_FALSE(e.udp);
  CHECK_FALSE(e.rr);
}

TEST_CASE("an rr stream's worker counts transactions and keeps their latencies") {
  Pair p = run_pair(Mode::kRr, 100 * 25, 1);
  CHECK(p.sender->error() == "");
  CHECK(p.receiver->error() == "");
  StreamEnd client, server;
  p.sender->end_figures(client);
  p.receiver->end_figures(server);
  REQUIRE(client.rr);
  CHECK(client.rr->transactions == 25);
  CHECK(client.rr->latency.count() == 25);
  CHECK_FALSE(server.rr);  // the server only echoes
  CHECK(p.sender->bytes() == 100 * 25);
  CHECK(p.receiver->bytes() == 100 * 25);
  StreamSample s;
  p.sender->sample(s);
  REQUIRE(s.rr);
  CHECK(s.rr->transactions == 25);
  StreamSample again;
  p.sender->sample(again);
  CHECK(again.rr->transactions == 0);
}
