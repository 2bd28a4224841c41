#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <map>
#include <set>

#include "cli/options.hpp"
#include "nicperf/cli/cli.hpp"

using namespace nicperf;

namespace {

// Every option of the table with its group's role.
struct Entry {
  std::string name;  // as errors name it: -t, --bidir
  cli::Role role;
  bool takes_value;
};

std::vector<Entry> table() {
  CLI::App app;
  cli::Raw raw;
  std::vector<Entry> out;
  for (const auto& g : cli::define_options(app, raw))
    for (const CLI::Option* o : g.app->get_options())
      out.push_back({cli::option_name(*o), g.role, o->get_expected_max() > 0});
  return out;
}

}  // namespace

TEST_CASE("client options become a test spec") {
  auto c = parse_command_line({"-c", "127.0.0.1", "-p",  "6000", "-t",
                               "5",  "-P",        "4",   "-l",   "64K",
                               "-R", "-i",        "0.5", "-O",   "1",
                               "-A", "0,1/1",     "-w",  "4M",   "-N",
                               "-C", "cubic",     "-4",  "-J",   "--get-server-output"});
  REQUIRE(c);
  REQUIRE(c->kind == Command::Kind::kClient);
  const TestSpec& s = c->client.spec;
  CHECK(c->client.host == "127.0.0.1");
  CHECK(c->client.port == 6000);
  CHECK(c->client.family == 4);
  CHECK(c->client.format == Format::kJson);
  CHECK(s.duration == 5);
  CHECK(s.streams == 4);
  CHECK(s.block_len == 65536);
  CHECK(s.direction == Direction::kReverse);
  CHECK(s.interval == 0.5);
  CHECK(s.omit == 1);
  CHECK(s.client_cpus == std::vector<int>{0, 1});
  CHECK(s.server_cpus == std::vector<int>{1});
  CHECK(s.window == 4u << 20);
  CHECK(s.no_delay);
  CHECK(s.congestion == "cubic");
  CHECK(s.get_server_output);
}

TEST_CASE("server options") {
  auto c = parse_command_line({"-s", "-p", "0", "-1", "-B", "127.0.0.1", "--idle-timeout", "30"});
  REQUIRE(c);
  REQUIRE(c->kind == Command::Kind::kServer);
  CHECK(c->server.port == 0);
  CHECK(c->server.one_off);
  CHECK(c->server.bind == "127.0.0.1");
  CHECK(c->server.idle_timeout == 30);
}

TEST_CASE("every bad command line is a usage error with one line") {
  std::vector<std::vector<std::string>> rows = {
      {},
      {"-s", "-c", "x"},
      {"-c", "x", "-t", "1", "-n", "1M"},
      {"-c", "x", "-R", "--bidir"},
      {"-c", "x", "-J", "--json-stream"},
      {"-c", "x", "-4", "-6"},
      {"-c", "x", "-P", "0"},
      {"-c", "x", "-P", "lots"},
      {"-c", "x", "-l", "0"},
      {"-c", "x", "-l", "1Q"},
      {"-c", "x", "-n", "0"},
      {"-c", "x", "-t", "-3"},
      {"-c", "x", "-A", "a,b"},
      {"-c", "x", "-p", "70000"},
      {"-c", "x", "-p", "0"},
      {"-c", "x", "--mode", "teleport"},
      {"-c", "x", "--verify", "--random-payload"},
      {"-s", "-t", "5"},
      {"-c", "x", "-1"},
      {"-c", "x", "--no-such-option"},
  };
  for (const auto& args : rows) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    CAPTURE(joined);
    auto c = parse_command_line(args);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Errc::kUsage);
    CHECK(c.error().message.find('\n') == std::string::npos);
  }
}

TEST_CASE("help, version and the mode list print and exit") {
  for (auto flag : {"--help", "--version", "-v"}) {
    auto c = parse_command_line({flag});
    REQUIRE(c);
    CHECK(c->kind == Command::Kind::kPrint);
    CHECK_FALSE(c->text.empty());
  }
  auto c = parse_command_line({"--mode", "list"});
  REQUIRE(c);
  CHECK(c->text.find("write") != std::string::npos);
}

TEST_CASE("every option is in one option group, only --help stays on the App") {
  CLI::App app;
  cli::Raw raw;
  auto groups = cli::define_options(app, raw);
  for (const CLI::Option* o : app.get_options()) {
    CAPTURE(o->get_name());
    CHECK(o == app.get_help_ptr());  // CLI11 cannot move --help; it shows under General
  }
  std::set<std::string> names;
  for (const auto& g : groups)
    for (const CLI::Option* o : g.app->get_options()) {
      CAPTURE(o->get_name());
      CHECK(names.insert(cli::option_name(*o)).second);
    }
  CHECK(names.size() > 50);
}

TEST_CASE("a client's option is refused by a server, a server's by a client") {
  for (const auto& e : table()) {
    if (e.role == cli::Role::kBoth) continue;
    bool client_only = e.role == cli::Role::kClient;
    std::vector<std::string> args =
        client_only ? std::vector<std::string>{"-s"} : std::vector<std::string>{"-c", "x"};
    args.push_back(e.name);
    if (e.takes_value) args.push_back("1");
    CAPTURE(e.name);
    auto c = parse_command_line(args);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Errc::kUsage);
    CHECK(c.error().message ==
          "option " + e.name + " is for the " + (client_only ? "client (-c)" : "server (-s)"));
  }
}

TEST_CASE("options keep their roles") {
  std::map<std::string, cli::Role> roles;
  for (const auto& e : table()) roles[e.name] = e.role;
  for (auto name : {"-s", "-c", "-p", "-i", "-J", "--json-stream", "--logfile", "-V", "-4", "-6",
                    "--rcv-timeout", "--snd-timeout", "--auth-file", "--netns", "-v"})
    CHECK_MESSAGE(roles.at(name) == cli::Role::kBoth, name);
  for (auto name : {"-t",
                    "-n",
                    "-P",
                    "-l",
                    "-R",
                    "--bidir",
                    "-O",
                    "-A",
                    "-w",
                    "-N",
                    "-C",
                    "--mode",
                    "--recv-mode",
                    "--uring-depth",
                    "--iperf3",
                    "--expect-gbps",
                    "--expect-max-cycles-per-byte",
                    "--expect-max-cpu-per-gb",
                    "--expect-max-copied-share",
                    "--cost",
                    "--profile",
                    "--profile-out",
                    "--compare",
                    "--repeat",
                    "--verify",
                    "--random-payload",
                    "--get-server-output",
                    "--connect-timeout",
                    "--nic",
                    "--compare-nic",
                    "--nic-dev",
                    "-u",
                    "-b",
                    "--batch",
                    "--fq-rate",
                    "--rr",
                    "--req",
                    "--resp",
                    "--sweep-rate",
                    "--udp-counters-64bit"})
    CHECK_MESSAGE(roles.at(name) == cli::Role::kClient, name);
  for (auto name : {"--username", "--rsa-public-key-path"})
    CHECK_MESSAGE(roles.at(name) == cli::Role::kClient, name);
  for (auto name : {"--use-pkcs1-padding"}) CHECK_MESSAGE(roles.at(name) == cli::Role::kBoth, name);
  for (auto name : {"-B", "-1", "--idle-timeout", "--max-streams", "--max-tests", "--max-duration",
                    "--max-bytes", "-D", "--rsa-private-key-path", "--authorized-users-path",
                    "--time-skew-threshold"})
    CHECK_MESSAGE(roles.at(name) == cli::Role::kServer, name);
  for (auto name : {"-k", "-M", "-S", "--dscp", "--cport", "--bind-dev", "--dont-fragment",
                    "--pacing-timer", "-T", "--extra-data"})
    CHECK_MESSAGE(roles.at(name) == cli::Role::kClient, name);
  for (auto name : {"-I", "--forceflush", "--timestamps"})
    CHECK_MESSAGE(roles.at(name) == cli::Role::kBoth, name);
  for (auto name : {"-f", "--json-stream-full-output"})
    CHECK_MESSAGE(roles.at(name) == cli::Role::kBoth, name);
  CHECK_MESSAGE(roles.at("-F") == cli::Role::kClient, "-F");
  CHECK_MESSAGE(roles.at("-L") == cli::Role::kClient, "-L");
  for (auto name : {"-m", "--cntl-ka"}) CHECK_MESSAGE(roles.at(name) == cli::Role::kBoth, name);
  CHECK_MESSAGE(roles.at("--server-bitrate-limit") == cli::Role::kServer, "--server-bitrate-limit");
  CHECK(roles.size() == 89);  // and --help
}

TEST_CASE("--help shows the options by group") {
  auto c = parse_command_line({"--help"});
  REQUIRE(c);
  const std::string& help = c->text;
  auto at = [&help](const char* text) { return help.find(text); };
  for (auto heading : {"\nGeneral:\n", "\nClient (-c HOST):\n", "\nServer (-s):\n",
                       "\nUDP (client):\n", "\nLatency (client):\n", "\nCost (client):\n",
                       "\nNIC (client):\n", "\nCI thresholds (client):\n", "\nSecurity:\n"}) {
    CAPTURE(heading);
    CHECK(at(heading) != std::string::npos);
  }
  CHECK(at("-h,--help") < at("\nOutput:\n"));  // --help under General
  CHECK(at("\nServer (-s):\n") < at("-B,--bind"));
  CHECK(at("\nUDP (client):\n") < at("-u,--udp"));
  CHECK(at("-u,--udp") < at("\nLatency (client):\n"));
}

TEST_CASE("authentication options are checked up front, each with its reason") {
  auto refused = [](std::vector<std::string> args, const std::string& why) {
    CAPTURE(why);
    auto c = parse_command_line(args);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == Errc::kUsage);
    CHECK(c.error().message.find(why) != std::string::npos);
  };
  refused({"-s", "--rsa-private-key-path", "k.pem"}, "go together");
  refused({"-s", "--authorized-users-path", "u.csv"}, "go together");
  refused({"-s", "--time-skew-threshold", "5"}, "goes with --rsa-private-key-path");
  refused({"-s", "--use-pkcs1-padding"}, "goes with --rsa-private-key-path");
  refused({"-s", "--username", "mario"}, "is for the client");
  refused({"-c", "h", "--rsa-private-key-path", "k.pem"}, "is for the server");
  refused({"-c", "h", "--username", "mario"}, "go together");
  refused({"-c", "h", "--username", "mario", "--rsa-public-key-path", "p.pem"}, "add --iperf3");
  refused({"-c", "h", "--use-pkcs1-padding"}, "goes with --username");
  refused({"-c", "h", "--iperf3", "--auth-file", "s"}, "nicperf's own");
  refused({"-s", "--rsa-private-key-path", "/nonexistent/k.pem", "--authorized-users-path",
           "/nonexistent/u.csv"},
          "cannot read the RSA private key");
}
