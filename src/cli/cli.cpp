#include "nicperf/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstring>
#include <span>
#include <sstream>

#include "cli/auth_options.hpp"
#include "nicperf/results/context.hpp"
#include "nicperf/paths/dgram_path.hpp"
#include "nicd/nicd.hpp"
#include "nicperf/paths/registry.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {
namespace {

struct Raw {
  bool server = false, one_off = false, reverse = false, bidir = false, json = false;
  bool json_stream = false, verbose = false, no_delay = false, v4 = false, v6 = false;
  bool server_output = false, verify = false, random_payload = false, version = false;
  bool iperf3 = false, daemon = false, udp = false, rr = false;
  std::string bitrate, fq_rate, req = "1", resp = "1", sweep_rate;
  int batch = 16;
  std::string netns, nic, compare_nic;
  std::string client, bind, bytes, length, window, congestion, affinity, logfile;
  std::string mode = "write", recv_mode = "read";
  int port = kDefaultPort, streams = 1, uring_depth = 8, repeat = 3;
  std::string compare, cost = "full";
  double time = 10, interval = 1, omit = 0, idle_timeout = 0, connect_timeout = 10;
  double rcv_timeout = 10, snd_timeout = 10, max_duration = 86400;
  int max_streams = 128, max_tests = 1;
  std::string max_bytes;
  AuthRaw auth;
  std::optional<double> expect_gbps, expect_cycles, expect_cpu, expect_copied;
};

void define(CLI::App& app, Raw& r) {
  app.add_flag("-s,--server", r.server, "run as a server");
  app.add_option("-c,--client", r.client, "run as a client, testing against HOST")
      ->option_text("HOST");
  app.add_option("-p,--port", r.port,
                 "server port (default 5201; a server takes 0 as any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("-B,--bind", r.bind, "server: listen on this address only");
  app.add_flag("-1,--one-off", r.one_off, "server: serve one test, then exit");
  app.add_option("--idle-timeout", r.idle_timeout,
                 "server: exit after SEC seconds without a client")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("-t,--time", r.time, "seconds to transmit (default 10)");
  app.add_option("-n,--bytes", r.bytes,
                 "bytes to transmit per direction, e.g. 10G (instead of -t)");
  app.add_option("-P,--parallel", r.streams, "number of parallel streams (default 1)");
  app.add_option(
      "-l,--length", r.length,
      "block length, e.g. 128K (default 128K); with -u the datagram size (default 1460)");
  app.add_flag("-u,--udp", r.udp, "UDP streams: paced datagrams, loss, reordering and jitter");
  app.add_option("-b,--bitrate", r.bitrate,
                 "UDP: RATE[/BURST] per stream in bits/s, e.g. 100M or 1G/8 (default 1M; 0 = "
                 "unpaced)");
  app.add_option("--batch", r.batch,
                 "UDP: datagrams per system call for sendmmsg, gso, zerocopy and recvmmsg, 1-64 "
                 "(default 16)");
  app.add_option(
      "--fq-rate", r.fq_rate,
      "pace each stream in the kernel (SO_MAX_PACING_RATE, needs the fq qdisc), e.g. 1G");
  app.add_flag("--rr", r.rr,
               "request/response: transactions per second and latency percentiles (TCP)");
  app.add_option("--req", r.req, "--rr request size (default 1 byte)");
  app.add_option("--resp", r.resp, "--rr response size (default 1 byte)");
  app.add_option("--sweep-rate", r.sweep_rate,
                 "UDP: offer LO:HI:STEPS packets/s (e.g. 50k:2M:10) and report delivered vs "
                 "offered per step (the receive-livelock experiment)");
  app.add_flag("-R,--reverse", r.reverse, "the server sends, the client receives");
  app.add_flag("--bidir", r.bidir, "both directions at once");
  app.add_option("-i,--interval", r.interval,
                 "seconds between interval reports, 0 = none (default 1)");
  app.add_option("-O,--omit", r.omit, "seconds to omit from the start (TCP slow start)");
  app.add_option("-A,--affinity", r.affinity,
                 "pin stream threads: CLIENT_CPUS[/SERVER_CPUS], e.g. 0,1 or 0/1");
  app.add_option("-w,--window", r.window, "socket buffer size (SO_SNDBUF/SO_RCVBUF), e.g. 4M");
  app.add_flag("-N,--no-delay", r.no_delay, "set TCP_NODELAY");
  app.add_option("-C,--congestion", r.congestion, "TCP congestion control algorithm");
  app.add_flag("-4,--version4", r.v4, "IPv4 only");
  app.add_flag("-6,--version6", r.v6, "IPv6 only");
  app.add_option("--mode", r.mode, "send path (default write); 'list' shows all");
  app.add_option("--recv-mode", r.recv_mode, "receive path (default read)");
  app.add_option("--compare", r.compare,
                 "run once per send path (comma list; none = every available one) and compare")
      ->expected(0, 1)
      ->default_str("");
  app.add_option("--repeat", r.repeat,
                 "rounds for --compare (default 3), or run one test N times and report its spread "
                 "with a 95% confidence interval")
      ->check(CLI::Range(1, 100));
  app.add_option("--cost", r.cost,
                 "what to measure of the cost: full, counters, rusage or off (default full, "
                 "falling back as far as this machine needs)");
  app.add_option("--uring-depth", r.uring_depth,
                 "io_uring sends per linked chain, 1-256 (default 8)");
  app.add_flag("--verify", r.verify, "receiver checks every byte against the pattern");
  app.add_flag("--random-payload", r.random_payload, "send random bytes instead of the pattern");
  app.add_flag("-J,--json", r.json, "print one JSON document at the end");
  app.add_flag("--json-stream", r.json_stream, "print one JSON object per event and line");
  app.add_flag("--get-server-output", r.server_output, "include the server's report");
  app.add_option("--logfile", r.logfile, "write the output to FILE instead of stdout");
  app.add_option("--connect-timeout", r.connect_timeout,
                 "seconds to wait for the server (default 10)")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--rcv-timeout", r.rcv_timeout,
                 "seconds to wait for the peer's data or control message (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--snd-timeout", r.snd_timeout,
                 "seconds the peer may take to accept a control message (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--max-streams", r.max_streams,
                 "server: refuse tests with more streams (default 128)")
      ->check(CLI::Range(1, 128));
  app.add_option("--max-tests", r.max_tests,
                 "server: run up to N tests at a time, 1-64 (default 1: others hear busy)");
  app.add_option("--max-duration", r.max_duration,
                 "server: refuse longer tests and stop any test running longer (default 86400)")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--max-bytes", r.max_bytes,
                 "server: refuse tests moving more bytes (-n), e.g. 100G");
  define_auth_options(app, r.auth);
  app.add_option("--expect-gbps", r.expect_gbps, "fail (exit 9) below this many Gbit/s received");
  app.add_option("--expect-max-cycles-per-byte", r.expect_cycles,
                 "fail (exit 9) when either side spends more cycles per byte (needs a PMU)");
  app.add_option("--expect-max-cpu-per-gb", r.expect_cpu,
                 "fail (exit 9) when either side spends more CPU seconds per GB");
  app.add_option(
      "--expect-max-copied-share", r.expect_copied,
      "fail (exit 9) when the kernel copied more than this share (0-1) of zero-copy sends");
  app.add_flag("--iperf3", r.iperf3, "client: speak iperf3's protocol to a stock iperf3 server");
  app.add_option("--netns", r.netns, "enter this network namespace first (needs root)");
  app.add_option("--nic", r.nic, "client: read nicperf-nicd's counters (its control socket)")
      ->expected(0, 1)
      ->default_str(nic::kDefaultSocket);
  app.add_option("--compare-nic", r.compare_nic,
                 "with --compare and --nic: sweep one NIC setting, e.g. rx-usecs=0,25,100");
  app.add_flag("-D,--daemon", r.daemon, "server: run in the background");
  app.add_flag("-V,--verbose", r.verbose, "more detail");
  app.add_flag("-v,--version", r.version, "print the version and exit");
}

Error usage(const std::string& what) { return {Errc::kUsage, what}; }

const char* const kClientOnly[] = {"-t",
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
                                   "--compare",
                                   "--repeat",
                                   "--verify",
                                   "--random-payload",
                                   "--get-server-output",
                                   "--connect-timeout",
                                   "--nic",
                                   "--compare-nic",
                                   "-u",
                                   "-b",
                                   "--batch",
                                   "--fq-rate",
                                   "--rr",
                                   "--req",
                                   "--resp",
                                   "--sweep-rate"};
const char* const kServerOnly[] = {
    "-B",          "-1", "--idle-timeout", "--max-streams", "--max-tests", "--max-duration",
    "--max-bytes", "-D"};

Status check_roles(const CLI::App& app, const Raw& r) {
  if (r.server == !r.client.empty())
    return usage(r.server ? "-s and -c exclude each other" : "say -s to serve or -c HOST to test");
  std::span<const char* const> other = r.server ? std::span<const char* const>(kClientOnly)
                                                : std::span<const char* const>(kServerOnly);
  using Names = std::span<const char* const>;
  Names auth = r.server ? Names(kAuthClientOnly) : Names(kAuthServerOnly);
  for (Names names : {other, auth})
    for (auto* name : names)
      if (app.count(name) > 0)
        return usage(std::string("option ") + name + " is for the " +
                     (r.server ? "client (-c)" : "server (-s)"));
  if (app.count("-t") && app.count("-n")) return usage("-t and -n exclude each other");
  if (r.reverse && r.bidir) return usage("-R and --bidir exclude each other");
  if (r.json && r.json_stream) return usage("-J and --json-stream exclude each other");
  if (r.v4 && r.v6) return usage("-4 and -6 exclude each other");
  return ok();
}

// -b RATE[/BURST] and --fq-rate, in bits/s.
Status fill_rates(const CLI::App& app, const Raw& r, TestSpec& s) {
  if (!is_udp(s)) {
    if (app.count("-b") || app.count("--batch"))
      return usage(std::string(app.count("-b") ? "-b" : "--batch") + " is for UDP tests: add -u");
  } else if (!r.bitrate.empty()) {
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
  if (s.rr) {
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

Expected<TestSpec> build_spec(const CLI::App& app, const Raw& r) {
  TestSpec s;
  if (r.udp) {
    s.protocol = "udp";
    s.block_len = kDefaultUdpLen;
    s.rate = kDefaultUdpRate;
  }
  s.batch = r.batch;
  s.rr = r.rr;
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
  s.cost = r.cost;
  s.verify = r.verify;
  s.random_payload = r.random_payload;
  s.get_server_output = r.server_output;
  if (auto st = fill_sizes(r, s); !st) return st.error();
  if (auto st = fill_rates(app, r, s); !st) return st.error();
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
  if (!(cmd.compare || cmd.sweep) || cmd.client.nic_socket.empty())
    return usage("--compare-nic goes with --compare (or --sweep-rate) and --nic");
  auto eq = r.compare_nic.find('=');
  if (eq == std::string::npos) return usage("--compare-nic takes KEY=V1,V2,... e.g. rx-usecs=0,50");
  auto& c = cmd.compare_options;
  c.nic_key = r.compare_nic.substr(0, eq);
  c.nic_values = split_list(r.compare_nic.substr(eq + 1));
  if (c.nic_values.empty()) return usage("--compare-nic needs at least one value");
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

}  // namespace

namespace {

template <class Table>
void list_paths(std::ostream& out, const char* title, Table table) {
  out << title << "\n";
  for (const auto& p : table) {
    auto why = path_unavailable(p);
    out << "  " << p.name << std::string(12 - std::min<std::size_t>(11, std::strlen(p.name)), ' ')
        << (why.empty() ? "available    " : "unavailable  ") << p.summary
        << (why.empty() ? "" : " [" + why + "]") << "\n";
  }
}

}  // namespace

std::string mode_list() {
  std::ostringstream out;
  list_paths(out, "Send paths (--mode):", send_paths());
  list_paths(out, "Receive paths (--recv-mode):", recv_paths());
  list_paths(out, "UDP send paths (-u --mode):", dgram_send_paths());
  list_paths(out, "UDP receive paths (-u --recv-mode):", dgram_recv_paths());
  return out.str();
}

Expected<Command> parse_command_line(const std::vector<std::string>& args) {
  CLI::App app("nicperf: network throughput and what it costs, per send path", "nicperf");
  Raw r;
  define(app, r);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    Command help;
    help.text = app.help();
    return help;
  } catch (const CLI::ParseError& e) {
    return usage(std::string(e.what()) + " (see nicperf --help)");
  }
  Command cmd;
  cmd.logfile = r.logfile;
  cmd.netns = r.netns;
  cmd.daemon = r.daemon;
  if (r.version) {
    cmd.text = "nicperf " + nicperf_version() + " (" + system_info() + ")\n";
    return cmd;
  }
  if (r.mode == "list") {
    cmd.text = mode_list();
    return cmd;
  }
  if (auto st = check_roles(app, r); !st) return st.error();
  int family = r.v4 ? 4 : r.v6 ? 6 : 0;
  if (!r.server && r.port == 0) return usage("-p 0 is for a server; give the server's port");
  if (r.server) {
    cmd.kind = Command::Kind::kServer;
    SpecLimits limits;
    limits.max_streams = r.max_streams;
    limits.max_duration = r.max_duration;
    if (!r.max_bytes.empty()) {
      auto n = parse_size(r.max_bytes);
      if (!n) return n.error();
      limits.max_bytes = *n;
    }
    cmd.server = {r.port,    r.bind,         family,
                  r.one_off, r.idle_timeout, format_of(r),
                  r.verbose, limits,         {r.rcv_timeout, r.snd_timeout},
                  {}};
    if (r.max_tests < 1 || r.max_tests > kMaxTests)
      return usage("--max-tests takes 1 to " + std::to_string(kMaxTests) +
                   " tests at a time, not " + std::to_string(r.max_tests));
    cmd.server.max_tests = r.max_tests;
    if (auto st = fill_server_auth(app, r.auth, cmd.server); !st) return st.error();
    return cmd;
  }
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
  cmd.client = {r.client,
                r.port,
                family,
                *spec,
                format_of(r),
                r.verbose,
                r.connect_timeout,
                {r.rcv_timeout, r.snd_timeout},
                {},
                r.iperf3,
                {r.expect_gbps, r.expect_cycles, r.expect_cpu, r.expect_copied},
                {}};
  if (cmd.client.expect.any() && cmd.compare)
    return usage("--expect-* checks one test; run it without --compare");
  if (app.count("--nic")) cmd.client.nic_socket = r.nic.empty() ? nic::kDefaultSocket : r.nic;
  if (auto st = fill_sweep(app, r, cmd); !st) return st.error();
  if (auto st = fill_compare_nic(r, cmd); !st) return st.error();
  cmd.sweep_options.nic_key = cmd.compare_options.nic_key;
  cmd.sweep_options.nic_values = cmd.compare_options.nic_values;
  if (auto st = fill_client_auth(r.auth, r.iperf3, cmd.client); !st) return st.error();
  if (r.iperf3 && (r.udp || r.rr))
    return usage(std::string(r.udp ? "-u" : "--rr") + " is nicperf's own; --iperf3 tests TCP");
  if (r.iperf3 && cmd.compare) cmd.client.iperf3 = true;  // --compare works against iperf3 too
  if (auto st = read_client_password(cmd.client); !st) return st.error();
  return cmd;
}

}  // namespace nicperf
