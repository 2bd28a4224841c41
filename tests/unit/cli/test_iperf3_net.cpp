// --cntl-ka, --server-bitrate-limit, -m and -L through the parser.
#include <doctest/doctest.h>

#include "cli/iperf3_net_options.hpp"
#include "nicperf/cli/cli.hpp"

using namespace nicperf;

TEST_CASE("--cntl-ka takes IDLE/INTERVAL/COUNT, each optional, as iperf3") {
  auto all = cli::parse_cntl_ka("30/5/3");
  REQUIRE(all);
  CHECK((all->on && all->idle == 30 && all->interval == 5 && all->count == 3));
  auto some = cli::parse_cntl_ka("/7");
  REQUIRE(some);
  CHECK((some->idle == 0 && some->interval == 7 && some->count == 0));
  auto none = cli::parse_cntl_ka("");
  REQUIRE(none);
  CHECK((none->on && none->idle == 0));
  CHECK_FALSE(cli::parse_cntl_ka("10/5/3"));  // 10 s idle cannot hold 3 probes 5 s apart
  CHECK_FALSE(cli::parse_cntl_ka("x"));
  auto c = parse_command_line({"-c", "h", "--cntl-ka=20/2/3"});
  REQUIRE(c);
  CHECK(c->client.control_keepalive.idle == 20);
  auto bare = parse_command_line({"-c", "h", "--cntl-ka", "-t", "1"});
  REQUIRE(bare);
  CHECK(bare->client.control_keepalive.on);
  auto s = parse_command_line({"-s", "--cntl-ka=60"});
  REQUIRE(s);
  CHECK(s->server.control_keepalive.idle == 60);
  CHECK_FALSE(parse_command_line({"-c", "h"})->client.control_keepalive.on);
}

TEST_CASE("--server-bitrate-limit takes RATE or RATE/SECS") {
  auto s = parse_command_line({"-s", "--server-bitrate-limit", "10M/2"});
  REQUIRE(s);
  CHECK(s->server.bitrate_limit.rate == 10'000'000u);
  CHECK(s->server.bitrate_limit.seconds == 2);
  auto d = parse_command_line({"-s", "--server-bitrate-limit=1G"});
  REQUIRE(d);
  CHECK(d->server.bitrate_limit.seconds == 5);  // iperf3's default window
  CHECK(parse_command_line({"-s"})->server.bitrate_limit.rate == 0);
  for (const char* bad : {"0", "10M/0", "10M/61", "10M/x", "fast"}) {
    CAPTURE(bad);
    auto c = parse_command_line({"-s", "--server-bitrate-limit", bad});
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Errc::kUsage);
  }
}

TEST_CASE("-m and -L go into the client's spec and -L needs IPv6 and TCP") {
  auto c = parse_command_line({"-c", "::1", "-m", "-L", "0x12345"});
  REQUIRE(c);
  CHECK(c->client.spec.mptcp);
  CHECK(c->client.spec.flowlabel == 0x12345);
  auto plain = parse_command_line({"-c", "h"});
  REQUIRE(plain);
  CHECK_FALSE(plain->client.spec.mptcp);
  CHECK(plain->client.spec.flowlabel == 0);
  for (auto args : {std::vector<std::string>{"-c", "h", "-L", "0"},
                    std::vector<std::string>{"-c", "h", "-L", "0x100000"},
                    std::vector<std::string>{"-c", "h", "-4", "-L", "1"},
                    std::vector<std::string>{"-c", "h", "-u", "-L", "1"},
                    std::vector<std::string>{"-c", "h", "-u", "-m"}}) {
    CAPTURE(args.back());
    auto bad = parse_command_line(args);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::kUsage);
  }
}
