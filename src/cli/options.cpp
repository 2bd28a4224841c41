#include "cli/options.hpp"

#include <CLI/CLI.hpp>
#include <memory>

#include "nicperf/nic/nicd_client.hpp"

namespace nicperf::cli {
namespace {

void general(CLI::App& g, Raw& r) {
  g.add_flag("-s,--server", r.server, "run as a server");
  g.add_option("-c,--client", r.client, "run as a client, testing against HOST")
      ->option_text("HOST");
  g.add_option("-p,--port", r.port, "server port (default 5201; a server takes 0 as any free port)")
      ->check(CLI::Range(0, 65535));
  g.add_flag("-4,--version4", r.v4, "IPv4 only");
  g.add_flag("-6,--version6", r.v6, "IPv6 only");
  g.add_option("--rcv-timeout", r.rcv_timeout,
               "seconds to wait for the peer's data or control message (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  g.add_option("--snd-timeout", r.snd_timeout,
               "seconds the peer may take to accept a control message (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  g.add_option("--netns", r.netns, "enter this network namespace first (needs root)");
  g.add_flag("-v,--version", r.version, "print the version and exit");
}

// -i is taken by a server too (iperf3 takes it there) but only the client's counts.
void output(CLI::App& g, Raw& r) {
  g.add_option("-i,--interval", r.interval,
               "seconds between interval reports, 0 = none (default 1)");
  g.add_flag("-J,--json", r.json, "print one JSON document at the end");
  g.add_flag("--json-stream", r.json_stream, "print one JSON object per event and line");
  g.add_option("--logfile", r.logfile, "write the output to FILE instead of stdout");
  g.add_flag("-V,--verbose", r.verbose, "more detail");
}

void client(CLI::App& g, Raw& r) {
  g.add_option("-t,--time", r.time, "seconds to transmit (default 10)");
  g.add_option("-n,--bytes", r.bytes, "bytes to transmit per direction, e.g. 10G (instead of -t)");
  g.add_option("-P,--parallel", r.streams, "number of parallel streams (default 1)");
  g.add_option("-l,--length", r.length,
               "block length, e.g. 128K (default 128K); with -u the datagram size (default 1460)");
  g.add_flag("-R,--reverse", r.reverse, "the server sends, the client receives");
  g.add_flag("--bidir", r.bidir, "both directions at once");
  g.add_option("-O,--omit", r.omit, "seconds to omit from the start (TCP slow start)");
  g.add_option("-A,--affinity", r.affinity,
               "pin stream threads: CLIENT_CPUS[/SERVER_CPUS], e.g. 0,1 or 0/1");
  g.add_option("-w,--window", r.window, "socket buffer size (SO_SNDBUF/SO_RCVBUF), e.g. 4M");
  g.add_flag("-N,--no-delay", r.no_delay, "set TCP_NODELAY");
  g.add_option("-C,--congestion", r.congestion, "TCP congestion control algorithm");
  g.add_option("--fq-rate", r.fq_rate,
               "pace each stream in the kernel (SO_MAX_PACING_RATE, needs the fq qdisc), e.g. 1G");
  g.add_flag("--verify", r.verify, "receiver checks every byte against the pattern");
  g.add_flag("--random-payload", r.random_payload, "send random bytes instead of the pattern");
  g.add_flag("--get-server-output", r.server_output, "include the server's report");
  g.add_option("--connect-timeout", r.connect_timeout,
               "seconds to wait for the server (default 10)")
      ->check(CLI::Range(0.1, 600.0));
  g.add_flag("--iperf3", r.iperf3, "speak iperf3's protocol to a stock iperf3 server");
}

void paths(CLI::App& g, Raw& r) {
  g.add_option("--mode", r.mode, "send path (default write); 'list' shows all");
  g.add_option("--recv-mode", r.recv_mode, "receive path (default read)");
  g.add_option("--uring-depth", r.uring_depth,
               "io_uring sends per linked chain, 1-256 (default 8)");
  g.add_option("--compare", r.compare,
               "run once per send path (comma list; none = every available one) and compare")
      ->expected(0, 1)
      ->default_str("");
  g.add_option("--repeat", r.repeat,
               "rounds for --compare (default 3), or run one test N times and report its spread "
               "with a 95% confidence interval")
      ->check(CLI::Range(1, 100));
}

void udp(CLI::App& g, Raw& r) {
  g.add_flag("-u,--udp", r.udp, "UDP streams: paced datagrams, loss, reordering and jitter");
  g.add_option("-b,--bitrate", r.bitrate,
               "RATE[/BURST] per stream in bits/s, e.g. 100M or 1G/8 (default 1M; 0 = unpaced)");
  g.add_option(
      "--batch", r.batch,
      "datagrams per system call for sendmmsg, zerocopy and recvmmsg, 1-64 (default 16); gso "
      "and gro always fill one UDP payload per call");
  g.add_flag("--udp-counters-64bit", r.udp_counters_64bit,
             "with --iperf3: 64-bit datagram sequence numbers, as iperf3's option of that name");
  g.add_option("--sweep-rate", r.sweep_rate,
               "offer LO:HI:STEPS packets/s (e.g. 50k:2M:10) and report delivered vs offered per "
               "step (the receive-livelock experiment)");
}

void latency(CLI::App& g, Raw& r) {
  g.add_flag("--rr", r.rr,
             "request/response: transactions per second and latency percentiles (TCP)");
  g.add_option("--req", r.req, "--rr request size (default 1 byte)");
  g.add_option("--resp", r.resp, "--rr response size (default 1 byte)");
}

void cost(CLI::App& g, Raw& r) {
  g.add_option("--cost", r.cost,
               "what to measure of the cost: full, bpf, ring, counters, rusage or off (default "
               "full: the best this machine allows; a forced level falls back as far as needed)");
  g.add_flag("--profile", r.profile,
             "sample where each side's CPU goes (kernel and user call chains, 499 Hz per thread) "
             "and report the top functions");
  g.add_option("--profile-out", r.profile_out,
               "with --profile: write each side's folded stacks to DIR (implies --profile)")
      ->option_text("DIR");
}

void nic(CLI::App& g, Raw& r) {
  g.add_option("--nic", r.nic, "read nicperf-nicd's counters (its control socket)")
      ->expected(0, 1)
      ->default_str(nic::kDefaultSocket);
  g.add_option("--compare-nic", r.compare_nic,
               "with --compare and --nic: sweep one NIC setting, e.g. rx-usecs=0,25,100");
  g.add_option("--nic-dev", r.nic_dev,
               "report this kernel device (and a bond's or VLAN's lower devices) instead of "
               "the one the data connections use");
}

void thresholds(CLI::App& g, Raw& r) {
  g.add_option("--expect-gbps", r.expect_gbps, "fail (exit 9) below this many Gbit/s received");
  g.add_option("--expect-max-cycles-per-byte", r.expect_cycles,
               "fail (exit 9) when either side spends more cycles per byte (needs a PMU)");
  g.add_option("--expect-max-cpu-per-gb", r.expect_cpu,
               "fail (exit 9) when either side spends more CPU seconds per GB");
  g.add_option(
      "--expect-max-copied-share", r.expect_copied,
      "fail (exit 9) when the kernel copied more than this share (0-1) of zero-copy sends");
}

void server(CLI::App& g, Raw& r) {
  g.add_option("-B,--bind", r.bind, "listen on this address only");
  g.add_flag("-1,--one-off", r.one_off, "serve one test, then exit");
  g.add_option("--idle-timeout", r.idle_timeout, "exit after SEC seconds without a client")
      ->check(CLI::Range(0.0, 86400.0));
  g.add_flag("-D,--daemon", r.daemon, "run in the background");
}

void limits(CLI::App& g, Raw& r) {
  g.add_option("--max-streams", r.max_streams, "refuse tests with more streams (default 128)")
      ->check(CLI::Range(1, 128));
  g.add_option("--max-tests", r.max_tests,
               "run up to N tests at a time, 1-64 (default 1: others hear busy)");
  g.add_option("--max-duration", r.max_duration,
               "refuse longer tests and stop any test running longer (default 86400)")
      ->check(CLI::Range(1.0, 86400.0));
  g.add_option("--max-bytes", r.max_bytes, "refuse tests moving more bytes (-n), e.g. 100G");
  define_net_server(g, r.net);
}

// nicperf's own authentication on both sides, and the padding of iperf3's RSA tokens.
void security(CLI::App& g, Raw& r) {
  g.add_option("--auth-file", r.auth.auth_file,
               "shared secret for HMAC-SHA256 challenge-response (the same file on both sides; "
               "mode 0600, at least 16 bytes)");
  g.add_flag("--use-pkcs1-padding", r.auth.pkcs1,
             "iperf3 authentication with PKCS#1 v1.5 padding instead of OAEP (iperf3 before "
             "3.17)");
}

// iperf3 authentication, server side.
void security_server(CLI::App& g, Raw& r) {
  g.add_option("--rsa-private-key-path", r.auth.private_key,
               "authenticate iperf3 clients with this RSA private key (PEM, mode 0600)");
  g.add_option("--authorized-users-path", r.auth.users,
               "iperf3 users, lines user,sha256(\"{user}password\")");
  g.add_option("--time-skew-threshold", r.auth.skew,
               "seconds an iperf3 client's clock may be off (default 10)")
      ->check(CLI::Range(1, 86400));
}

// iperf3 authentication, client side (with --iperf3).
void security_client(CLI::App& g, Raw& r) {
  g.add_option("--username", r.auth.username,
               "with --iperf3: authenticate as USER (password from IPERF3_PASSWORD or the "
               "terminal)");
  g.add_option("--rsa-public-key-path", r.auth.public_key,
               "with --iperf3: the iperf3 server's RSA public key (PEM)");
}

void compat_both(CLI::App& g, Raw& r) {
  define_compat_both(g, r.compat);
  define_output_both(g, r.out3);
  define_net_both(g, r.net);
}
void compat_client(CLI::App& g, Raw& r) {
  define_compat_client(g, r.compat);
  define_file_client(g, r.out3);
  define_net_client(g, r.net);
}

struct GroupSpec {
  const char* name;  // the --help heading
  Role role;
  void (*define)(CLI::App&, Raw&);
};

// --help shows the groups in this order; an empty group is not shown.
const GroupSpec kGroups[] = {
    {"General", Role::kBoth, general},
    {"Output", Role::kBoth, output},
    {"Client (-c HOST)", Role::kClient, client},
    {"Send and receive paths (client)", Role::kClient, paths},
    {"UDP (client)", Role::kClient, udp},
    {"Latency (client)", Role::kClient, latency},
    {"Cost (client)", Role::kClient, cost},
    {"NIC (client)", Role::kClient, nic},
    {"CI thresholds (client)", Role::kClient, thresholds},
    {"Server (-s)", Role::kServer, server},
    {"Server limits", Role::kServer, limits},
    {"Security", Role::kBoth, security},
    {"Security (server)", Role::kServer, security_server},
    {"Security (client)", Role::kClient, security_client},
    {"From iperf3", Role::kBoth, compat_both},
    {"From iperf3 (client)", Role::kClient, compat_client},
};

// One heading per option group. CLI11 keeps --help on the App itself (it cannot be moved into
// a group), so an option of the App shows under the group its group() names.
class GroupedHelp : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode) const override {
    std::string out = make_description(app) + make_usage(app, name);
    for (const CLI::App* group : app->get_subcommands({})) {
      auto opts = app->get_options(
          [group](const CLI::Option* o) { return o->get_group() == group->get_group(); });
      for (const CLI::Option* o : group->get_options()) opts.push_back(o);
      if (opts.empty()) continue;
      out += "\n" + group->get_group() + ":\n";
      for (const CLI::Option* o : opts) out += make_option(o, false);
    }
    return out + "\n" + make_footer(app);
  }
};

}  // namespace

std::vector<Group> define_options(CLI::App& app, Raw& raw) {
  std::vector<Group> groups;
  for (const auto& spec : kGroups) {
    CLI::App* g = app.add_option_group(spec.name);
    g->set_help_flag();  // a group copies the App's --help; the App's own is the one
    spec.define(*g, raw);
    groups.push_back({g, spec.role});
  }
  app.get_help_ptr()->group(kGroups[0].name);
  app.formatter(std::make_shared<GroupedHelp>());
  return groups;
}

std::string option_name(const CLI::Option& option) {
  if (!option.get_snames().empty()) return "-" + option.get_snames().front();
  return "--" + option.get_lnames().front();
}

}  // namespace nicperf::cli
