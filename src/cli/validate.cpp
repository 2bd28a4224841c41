#include "cli/validate.hpp"

#include <CLI/CLI.hpp>

#include "nicperf/nic/dev_settings.hpp"
#include "nicperf/nic/nicd_client.hpp"
#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf::cli {
namespace {

// An option of a group whose role is the other side's is refused, naming the side it is for.
Status check_roles(const CLI::App& app, const std::vector<Group>& groups, const Raw& r) {
  if (r.server == !r.client.empty())
    return usage(r.server ? "-s and -c exclude each other" : "say -s to serve or -c HOST to test");
  Role other = r.server ? Role::kClient : Role::kServer;
  for (const Group& g : groups) {
    if (g.role != other) continue;
    for (const CLI::Option* o : g.app->get_options())
      if (o->count() > 0)
        return usage("option " + option_name(*o) + " is for the " +
                     (r.server ? "client (-c)" : "server (-s)"));
  }
  if (app.count("-t") && app.count("-n")) return usage("-t and -n exclude each other");
  if (r.reverse && r.bidir) return usage("-R and --bidir exclude each other");
  if (r.json && r.json_stream) return usage("-J and --json-stream exclude each other");
  if (r.v4 && r.v6) return usage("-4 and -6 exclude each other");
  return ok();
}

// -b RATE[/BURST] and --fq-rate, in bits/s.
Status fill_rates(const CLI::App& app, const Raw& r, TestSpec& s) {
  if (!is_udp(s) && app.count("--batch")) return usage("--batch is for UDP tests: add -u");
  if (is_rr(s) && app.count("-b")) return usage("-b paces byte streams; --rr waits for answers");
  if (!r.bitrate.empty()) {  // TCP is paced too, as iperf3 paces it
    auto slash = r.bitrate.find('/');
    auto rate = parse_rate(r.bitrate.substr(0, slash));
    if (!rate) return rate.error();
    s.rate = std::uint64_t(*rate);
    if (slash != std::string::npos) {
      auto burst = parse_size(r.bitrate.substr(slash + 1));
      if (!burst || *burst < 1 || *burst > 1'000'000)
        return usage("-b RATE/BURST: BURST must be 1-1000000 datagrams");
      s.burst = int(*burst);
    }
  }
  if (!r.fq_rate.empty()) {
    auto rate = parse_rate(r.fq_rate);
    if (!rate) return rate.error();
    if (*rate < 8) return usage("--fq-rate must be at least 8 bits/s");
    s.fq_rate = std::uint64_t(*rate);
  }
  if (is_rr(s)) {
    auto req = parse_size(r.req), resp = parse_size(r.resp);
    if (!req) return req.error();
    if (!resp) return resp.error();
    s.req_len = *req;
    s.resp_len = *resp;
  }
  return ok();
}

Status fill_sizes(const Raw& r, TestSpec& s) {
  if (!r.bytes.empty()) {
    auto n = parse_size(r.bytes);
    if (!n) return n.error();
    if (*n == 0) return usage("-n must be more than 0 bytes");
    s.bytes = *n;
  }
  if (!r.length.empty()) {
    auto n = parse_size(r.length);
    if (!n) return n.error();
    s.block_len = *n;
  }
  if (!r.window.empty()) {
    auto n = parse_size(r.window);
    if (!n) return n.error();
    s.window = *n;
  }
  if (!r.affinity.empty()) {
    auto slash = r.affinity.find('/');
    auto client = r.affinity.substr(0, slash);
    if (!client.empty()) {
      auto cpus = parse_cpu_list(client);
      if (!cpus) return cpus.error();
      s.client_cpus = *cpus;
    }
    if (slash != std::string::npos) {
      auto cpus = parse_cpu_list(r.affinity.substr(slash + 1));
      if (!cpus) return cpus.error();
      s.server_cpus = *cpus;
    }
  }
  return ok();
}

// What kind of test and what to measure of it: the one place the spec's mode and cost level
// are set from the options.
Status set_kind(const Raw& r, TestSpec& s) {
  auto mode = mode_from(r.udp ? "udp" : "tcp", r.rr);
  if (!mode) return mode.error();
  auto cost = cost_level_from(r.cost);
  if (!cost) return cost.error();
  s.mode = *mode;
  s.cost = *cost;
  if (r.udp && !r.rr) {
    s.block_len = kDefaultUdpLen;
    s.rate = kDefaultUdpRate;
  }
  return ok();
}

Expected<TestSpec> build_spec(const CLI::App& app, const Raw& r) {
  TestSpec s;
  if (auto st = set_kind(r, s); !st) return st.error();
  s.batch = r.batch;
  s.streams = r.streams;
  s.duration = r.time;
  s.direction = r.bidir ? Direction::kBidir : r.reverse ? Direction::kReverse : Direction::kNormal;
  s.interval = r.interval;
  s.omit = r.omit;
  s.no_delay = r.no_delay;
  s.congestion = r.congestion;
  s.send_mode = r.mode;
  s.recv_mode = r.recv_mode;
  s.uring_depth = r.uring_depth;
  s.verify = r.verify;
  s.random_payload = r.random_payload;
  s.get_server_output = r.server_output;
  s.profile = r.profile || !r.profile_out.empty();
  if (auto st = fill_sizes(r, s); !st) return st.error();
  if (auto st = fill_rates(app, r, s); !st) return st.error();
  if (auto st = fill_compat_spec(app, r.compat, s); !st) return st.error();
  if (auto st = fill_file_spec(app, r.out3, s); !st) return st.error();
  if ((app.count("--req") || app.count("--resp")) && !r.rr)
    return usage("--req and --resp go with --rr");
  if (auto st = validate(s); !st) return st.error();
  return s;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

// --compare LIST and --recv-mode LIST become the compare matrix; the spec keeps the first.
Status fill_compare(Raw& r, CompareOptions& c) {
  c.repeat = r.repeat;
  c.send_modes = split_list(r.compare);
  auto known_send = [&r](const std::string& m) {
    return r.udp ? find_dgram_send_path(m) != nullptr : find_send_path(m) != nullptr;
  };
  auto known_recv = [&r](const std::string& m) {
    return r.udp ? find_dgram_recv_path(m) != nullptr : find_recv_path(m) != nullptr;
  };
  for (const auto& m : c.send_modes)
    if (!known_send(m))
      return usage("unknown send mode '" + m + "' in --compare (see --mode list)");
  c.recv_modes = split_list(r.recv_mode);
  if (c.recv_modes.empty()) return usage("--recv-mode needs a mode");
  for (const auto& m : c.recv_modes)
    if (!known_recv(m)) return usage("unknown receive mode '" + m + "' (see --mode list)");
  if (r.rr) return usage("--rr has one path: drop --compare and --repeat");
  if (r.bidir) return usage("--compare measures one direction: drop --bidir");
  if (!c.send_modes.empty()) r.mode = c.send_modes.front();
  r.recv_mode = c.recv_modes.front();
  return ok();
}

// --compare-nic KEY=V1,V2: each value is checked here, so a typo fails before any test runs.
Status fill_compare_nic(const Raw& r, Command& cmd) {
  if (r.compare_nic.empty()) return ok();
  // Without --nic, a kernel device (--nic-dev) takes the settings: gro, tso, rings, coalescing.
  bool device = cmd.client.nic_socket.empty() && !r.nic_dev.empty();
  if (!(cmd.compare || cmd.sweep) || (cmd.client.nic_socket.empty() && !device))
    return usage("--compare-nic goes with --compare (or --sweep-rate) and --nic or --nic-dev");
  auto eq = r.compare_nic.find('=');
  if (eq == std::string::npos) return usage("--compare-nic takes KEY=V1,V2,... e.g. rx-usecs=0,50");
  auto& c = cmd.compare_options;
  c.nic_key = r.compare_nic.substr(0, eq);
  c.nic_values = split_list(r.compare_nic.substr(eq + 1));
  if (c.nic_values.empty()) return usage("--compare-nic needs at least one value");
  if (device) {
    if (!nic::is_dev_setting(c.nic_key))
      return usage(
          "--compare-nic on a kernel device takes rx-usecs, rx-frames, adaptive-rx, "
          "ring, rx-ring, tx-ring, gro or tso, not '" +
          c.nic_key + "'");
    return ok();  // the driver judges the values; a refusal stops the series before a run
  }
  for (const auto& v : c.nic_values) {
    nic::NicSettings probe;
    if (auto st = nic::apply_setting(probe, c.nic_key, v); !st) return st;
  }
  return ok();
}

Status fill_sweep(const CLI::App& app, const Raw& r, Command& cmd) {
  if (!app.count("--sweep-rate")) return ok();
  if (!r.udp) return usage("--sweep-rate offers UDP: add -u");
  if (cmd.compare) return usage("--sweep-rate and --compare/--repeat exclude each other");
  if (app.count("-b")) return usage("--sweep-rate sets the rate of each step: drop -b");
  if (r.bidir) return usage("--sweep-rate measures one direction: drop --bidir");
  if (cmd.client.spec.bytes) return usage("--sweep-rate runs each step for -t seconds: drop -n");
  if (cmd.client.expect.any()) return usage("--expect-* checks one test; drop --sweep-rate");
  auto s = parse_sweep(r.sweep_rate);
  if (!s) return s.error();
  cmd.sweep = true;
  cmd.sweep_options = *s;
  return ok();
}

Format format_of(const Raw& r) {
  return r.json ? Format::kJson : r.json_stream ? Format::kJsonStream : Format::kText;
}

Status server_command(const CLI::App& app, const Raw& r, int family, Command& cmd) {
  cmd.kind = Command::Kind::kServer;
  SpecLimits limits;
  limits.max_streams = r.max_streams;
  limits.max_duration = r.max_duration;
  if (!r.max_bytes.empty()) {
    auto n = parse_size(r.max_bytes);
    if (!n) return n.error();
    limits.max_bytes = *n;
  }
  // Field by field: the options grow, and a positional list silently shifts.
  cmd.server = ServerOptions{};
  cmd.server.port = r.port;
  cmd.server.bind = r.bind;
  cmd.server.family = family;
  cmd.server.one_off = r.one_off;
  cmd.server.idle_timeout = r.idle_timeout;
  cmd.server.format = format_of(r);
  cmd.server.verbose = r.verbose;
  cmd.server.limits = limits;
  cmd.server.timeouts = {r.rcv_timeout, r.snd_timeout};
  if (r.max_tests < 1 || r.max_tests > kMaxTests)
    return usage("--max-tests takes 1 to " + std::to_string(kMaxTests) + " tests at a time, not " +
                 std::to_string(r.max_tests));
  cmd.server.max_tests = r.max_tests;
  if (auto st = fill_net_server(r.net, cmd.server); !st) return st;
  return fill_server_auth(app, r.auth, cmd.server);
}

Status client_command(const CLI::App& app, Raw& r, int family, Command& cmd) {
  if (app.count("--compare")) {
    if (auto st = fill_compare(r, cmd.compare_options); !st) return st.error();
    cmd.compare = true;
  } else if (app.count("--repeat")) {
    // One path repeated: a comparison of that path with itself, with its spread.
    r.compare = r.mode;
    if (auto st = fill_compare(r, cmd.compare_options); !st) return st.error();
    cmd.compare = true;
  } else if (r.recv_mode.find(',') != std::string::npos) {
    return usage("a list of receive modes goes with --compare");
  }
  auto spec = build_spec(app, r);
  if (!spec) return spec.error();
  cmd.kind = Command::Kind::kClient;
  // Field by field: ClientOptions grows with each feature, and a brace list would leave the
  // newest fields to -Wmissing-field-initializers.
  ClientOptions& c = cmd.client = ClientOptions{};
  c.host = r.client;
  c.port = r.port;
  c.family = family;
  c.spec = *spec;
  c.format = format_of(r);
  c.verbose = r.verbose;
  c.connect_timeout = r.connect_timeout;
  c.timeouts = {r.rcv_timeout, r.snd_timeout};
  c.iperf3 = r.iperf3;
  c.expect = {r.expect_gbps, r.expect_cycles, r.expect_cpu, r.expect_copied};
  c.profile_out = r.profile_out;
  if (cmd.client.expect.any() && cmd.compare)
    return usage("--expect-* checks one test; run it without --compare");
  if (app.count("--nic")) cmd.client.nic_socket = r.nic.empty() ? nic::kDefaultSocket : r.nic;
  cmd.client.nic_dev = r.nic_dev;
  cmd.client.extra_data = r.compat.extra_data;
  if (auto st = fill_sweep(app, r, cmd); !st) return st.error();
  if (auto st = fill_compare_nic(r, cmd); !st) return st.error();
  cmd.sweep_options.nic_key = cmd.compare_options.nic_key;
  cmd.sweep_options.nic_values = cmd.compare_options.nic_values;
  if (auto st = fill_client_auth(r.auth, r.iperf3, cmd.client); !st) return st.error();
  if (r.iperf3 && r.rr) return usage("--rr is nicperf's own; --iperf3 tests TCP and UDP");
  if (r.udp_counters_64bit && !(r.iperf3 && r.udp))
    return usage("--udp-counters-64bit is for --iperf3 -u (nicperf's own header is 64-bit)");
  cmd.client.udp_counters_64bit = r.udp_counters_64bit;
  if (auto st = fill_file_client(r.out3, cmd); !st) return st.error();
  if (auto st = fill_net_client(r.net, cmd.client); !st) return st.error();
  if (r.iperf3 && cmd.compare) cmd.client.iperf3 = true;  // --compare works against iperf3 too
  // Last: nothing prompts for a password before every other option has been checked.
  return read_client_password(cmd.client);
}

}  // namespace

Expected<Command> to_command(const CLI::App& app, const std::vector<Group>& groups, Raw& r) {
  if (auto st = check_roles(app, groups, r); !st) return st.error();
  Command cmd;
  cmd.logfile = r.logfile;
  fill_compat_output(app, r.compat, cmd);
  cmd.netns = r.netns;
  cmd.daemon = r.daemon;
  int family = r.v4 ? 4 : r.v6 ? 6 : 0;
  if (!r.server && r.port == 0) return usage("-p 0 is for a server; give the server's port");
  auto st = r.server ? server_command(app, r, family, cmd) : client_command(app, r, family, cmd);
  if (!st) return st.error();
  if (auto out = fill_output_format(r.out3, cmd); !out) return out.error();
  return cmd;
}

}  // namespace nicperf::cli
