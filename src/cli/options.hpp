// The option table: every option lives in one CLI11 option group, and the group's role says
// who may give it. The role checks, the grouped --help and the test that nothing is left out
// all read the same groups, so there is no second list to keep in step.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/auth_options.hpp"
#include "cli/iperf3_net_options.hpp"
#include "cli/iperf3_options.hpp"
#include "cli/iperf3_output.hpp"
#include "nicperf/session/session.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace nicperf::cli {

// The options as typed, before any meaning is given to them.
struct Raw {
  bool server = false, one_off = false, reverse = false, bidir = false, json = false;
  bool json_stream = false, verbose = false, no_delay = false, v4 = false, v6 = false;
  bool server_output = false, verify = false, random_payload = false, version = false;
  bool iperf3 = false, daemon = false, udp = false, rr = false;
  std::string bitrate, fq_rate, req = "1", resp = "1", sweep_rate;
  int batch = 16;
  std::string netns, nic, compare_nic;
  std::string nic_dev;  // --nic-dev
  std::string client, bind, bytes, length, window, congestion, affinity, logfile;
  std::string mode = "write", recv_mode = "read";
  int port = kDefaultPort, streams = 1, uring_depth = 8, repeat = 3;
  std::string compare, cost = "full";
  double time = 10, interval = 1, omit = 0, idle_timeout = 0, connect_timeout = 10;
  double rcv_timeout = 10, snd_timeout = 10, max_duration = 86400;
  int max_streams = 128, max_tests = 1;
  std::string max_bytes;
  AuthRaw auth;
  CompatRaw compat;  // the options taken from iperf3
  // iperf3's -f, --json-stream-full-output and -F
  OutputFileRaw out3;
  NetRaw net;  // iperf3's --cntl-ka, --server-bitrate-limit, -m, -L
  std::optional<double> expect_gbps, expect_cycles, expect_cpu, expect_copied;
  bool profile = false;     // --profile
  std::string profile_out;  // --profile-out DIR
  bool udp_counters_64bit = false;
};

// Who may give an option: both sides, only a client (-c) or only a server (-s).
enum class Role { kBoth, kClient, kServer };

struct Group {
  CLI::App* app;  // the CLI11 option group, owned by the App it was added to
  Role role;
};

// Adds every option to `app`, each in one group, bound to `raw`; returns the groups in the
// order --help shows them. `raw` must outlive `app`'s parse.
std::vector<Group> define_options(CLI::App& app, Raw& raw);

// How errors name an option: its short name if it has one (-t), else its long one (--bidir).
std::string option_name(const CLI::Option& option);

}  // namespace nicperf::cli
