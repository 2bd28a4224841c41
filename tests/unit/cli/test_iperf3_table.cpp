// iperf3's command line through nicperf's parser: every row of the table is taken or refused
// as the table says.
#include <doctest/doctest.h>

#include <set>

#include "cli/iperf3_options.hpp"
#include "cli/iperf3_table.hpp"
#include "nicperf/cli/cli.hpp"

using namespace nicperf;
using cli::Iperf3Fate;

namespace {

// Options only a server takes in nicperf.
bool server_side(const std::string& name) {
  static const std::set<std::string> kServer = {"--server",
                                                "--daemon",
                                                "--one-off",
                                                "--idle-timeout",
                                                "--server-max-duration",
                                                "--rsa-private-key-path",
                                                "--authorized-users-path",
                                                "--time-skew-threshold",
                                                "--bind",
                                                "--server-bitrate-limit"};
  return kServer.count(name) > 0;
}

std::vector<std::string> command_with(const cli::Iperf3Option& o, bool use_long) {
  std::string name = use_long || !*o.short_name ? o.long_name : o.short_name;
  std::vector<std::string> args;
  if (std::string(o.long_name) == "--server" || std::string(o.long_name) == "--client") {
    args = {name};
    if (o.takes_value) args.push_back(o.example);
    return args;
  }
  args = server_side(o.long_name) ? std::vector<std::string>{"-s"}
                                  : std::vector<std::string>{"-c", "127.0.0.1"};
  // UDP's own options mean something only on a UDP test (and the counters only with --iperf3).
  if (std::string(o.long_name) == "--gsro") args.push_back("-u");
  if (std::string(o.long_name) == "--udp-counters-64bit") {
    args.push_back("-u");
    args.push_back("--iperf3");
  }
  args.push_back(name);
  if (o.takes_value) args.push_back(o.example);
  return args;
}

}  // namespace

TEST_CASE("every iperf3 option is taken with its meaning or refused with one line") {
  std::set<std::string> seen;
  for (const auto& o : cli::iperf3_options()) {
    CHECK(seen.insert(o.long_name).second);  // each once
    if (o.fate == Iperf3Fate::kOther) continue;
    std::string long_name = o.long_name;
    // Needing files, root or a device the test cannot give: parse-only rows are checked by
    // their own tests.
    if (long_name == "--rsa-private-key-path" || long_name == "--authorized-users-path" ||
        long_name == "--username" || long_name == "--rsa-public-key-path" ||
        long_name == "--time-skew-threshold" || long_name == "--use-pkcs1-padding" ||
        long_name == "--help" || long_name == "--version" || long_name == "--dont-fragment" ||
        long_name == "--server")
      continue;
    for (bool use_long : {false, true}) {
      auto args = command_with(o, use_long);
      std::string joined;
      for (const auto& a : args) joined += a + " ";
      CAPTURE(joined);
      auto c = parse_command_line(args);
      if (o.fate == Iperf3Fate::kRefused) {
        REQUIRE_FALSE(c);
        CHECK(c.error().code == Errc::kUsage);
        CHECK(c.error().message == o.note);
        CHECK(c.error().message.find('\n') == std::string::npos);
        CHECK(c.error().message.find("not built") != std::string::npos);
      } else {
        if (!c) CAPTURE(c.error().message);
        CHECK(c);
      }
    }
  }
  CHECK(seen.size() >= 67);  // iperf3 3.21's long options
}

TEST_CASE("iperf3's spellings of nicperf's features are aliases with the same effect") {
  auto z = parse_command_line({"-c", "h", "-Z", "--skip-rx-copy", "--linux-congestion", "reno"});
  REQUIRE(z);
  CHECK(z->client.spec.send_mode == "sendfile");
  CHECK(z->client.spec.recv_mode == "discard");
  CHECK(z->client.spec.congestion == "reno");
  auto d = parse_command_line({"-c", "h", "--debug=2", "--repeating-payload", "--bandwidth=5M"});
  REQUIRE(d);
  CHECK(d->client.verbose);
  CHECK(d->client.spec.rate == 5000000u);
  CHECK_FALSE(d->client.spec.random_payload);
  auto g = parse_command_line({"-c", "h", "-u", "--gsro"});
  REQUIRE(g);
  CHECK(g->client.spec.send_mode == "gso");
  CHECK(g->client.spec.recv_mode == "gro");
  auto s = parse_command_line({"-s", "--server-max-duration", "60"});
  REQUIRE(s);
  CHECK(s->server.limits.max_duration == 60);
  // A value is never taken for an option: a title "-Z" stays a title.
  auto t = parse_command_line({"-c", "h", "-T", "-Z"});
  REQUIRE(t);
  CHECK(t->decoration.title == "-Z");
  CHECK(t->client.spec.send_mode == "write");
}

TEST_CASE("iperf3's -k, -M, -S, --dscp, --cport and -b on TCP fill the spec") {
  auto c = parse_command_line({"-c", "h", "-k", "1K", "-l", "1000", "-M", "1200", "-S", "0x10",
                               "--cport", "40000", "-P", "2", "-b", "10M", "--bind-dev", "lo"});
  REQUIRE(c);
  const auto& s = c->client.spec;
  CHECK(s.bytes == 1024u * 1000u);
  CHECK(s.mss == 1200);
  CHECK(s.tos == 0x10);
  CHECK(s.client_port == 40000);
  CHECK(s.rate == 10000000u);
  CHECK(s.bind_dev == "lo");
  auto d = parse_command_line({"-c", "h", "--dscp", "ef"});
  REQUIRE(d);
  CHECK(d->client.spec.tos == 46 << 2);
  CHECK(*cli::parse_dscp("10") == 40);
  CHECK(*cli::parse_tos("020") == 16);  // octal, as iperf3's strtol reads it
  auto u = parse_command_line({"-c", "h", "-u", "--dont-fragment"});
  REQUIRE(u);
  CHECK(u->client.spec.dont_fragment);
  for (std::vector<std::string> bad : {std::vector<std::string>{"-c", "h", "-k", "0"},
                                       {"-c", "h", "-k", "5", "-t", "3"},
                                       {"-c", "h", "-S", "256"},
                                       {"-c", "h", "--dscp", "af99"},
                                       {"-c", "h", "-S", "1", "--dscp", "ef"},
                                       {"-c", "h", "--dont-fragment"},
                                       {"-s", "-k", "5"}}) {
    auto e = parse_command_line(bad);
    REQUIRE_FALSE(e);
    CHECK(e.error().code == Errc::kUsage);
  }
}

TEST_CASE("-T, --timestamps, --forceflush and -I reach the command") {
  auto c = parse_command_line(
      {"-c", "h", "-T", "run1", "--timestamps=%H:%M ", "--forceflush", "-I", "/tmp/p.pid"});
  REQUIRE(c);
  CHECK(c->decoration.title == "run1");
  CHECK(c->decoration.timestamps == "%H:%M ");
  CHECK(c->decoration.forceflush);
  CHECK(c->pidfile == "/tmp/p.pid");
  auto bare = parse_command_line({"-s", "--timestamps"});
  REQUIRE(bare);
  CHECK(bare->decoration.timestamps == "%c ");
}

TEST_CASE("--extra-data reaches the client's options, as given") {
  auto c = parse_command_line({"-c", "h", "--extra-data", "rack 7", "-J"});
  REQUIRE(c);
  CHECK(c->client.extra_data == "rack 7");
  auto none = parse_command_line({"-c", "h"});
  REQUIRE(none);
  CHECK(none->client.extra_data.empty());
}
