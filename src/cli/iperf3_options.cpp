#include "cli/iperf3_options.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "nicperf/util/units.hpp"

namespace nicperf::cli {
namespace {

Expected<long> parse_c_number(const std::string& text, const char* what) {
  if (text.empty()) return usage(std::string(what) + " needs a number");
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 0);  // 0x.. and 0.. as iperf3's strtol reads them
  if (*end || errno) return usage(std::string(what) + " '" + text + "' is not a number");
  return v;
}

struct Dscp {
  const char* name;
  int value;
};

const Dscp kDscpNames[] = {
    {"cs0", 0},   {"cs1", 8},   {"cs2", 16},  {"cs3", 24},  {"cs4", 32},  {"cs5", 40},
    {"cs6", 48},  {"cs7", 56},  {"af11", 10}, {"af12", 12}, {"af13", 14}, {"af21", 18},
    {"af22", 20}, {"af23", 22}, {"af31", 26}, {"af32", 28}, {"af33", 30}, {"af41", 34},
    {"af42", 36}, {"af43", 38}, {"ef", 46},   {"va", 44},   {"le", 1},
};

}  // namespace

Expected<int> parse_tos(const std::string& text) {
  auto v = parse_c_number(text, "-S");
  if (!v) return v.error();
  if (*v < 0 || *v > 255) return usage("-S takes a TOS byte 0-255, got " + text);
  return int(*v);
}

Expected<int> parse_dscp(const std::string& text) {
  for (const auto& d : kDscpNames)
    if (strcasecmp(text.c_str(), d.name) == 0) return d.value << 2;
  auto v = parse_c_number(text, "--dscp");
  if (!v || *v < 0 || *v > 63)
    return usage("--dscp takes 0-63 or a name (ef, af11-af43, cs0-cs7, va, le), got " + text);
  return int(*v) << 2;
}

void define_compat_both(CLI::App& g, CompatRaw& r) {
  g.add_option("-I,--pidfile", r.pidfile, "write the process id to FILE, removed at exit");
  g.add_flag("--forceflush", r.forceflush, "flush the output after every line");
  g.add_option("--timestamps", r.timestamps,
               "start each text line with the time, --timestamps=FORMAT in strftime's "
               "(default \"%c \")")
      ->expected(0, 1);
}

void define_compat_client(CLI::App& g, CompatRaw& r) {
  g.add_option("-k,--blockcount", r.blockcount,
               "blocks (-l each) to transmit in all, e.g. 1K (instead of -t or -n)");
  g.add_option("-M,--set-mss", r.mss, "TCP maximum segment size (TCP_MAXSEG)")
      ->check(CLI::Range(0, 65535));
  g.add_option("-S,--tos", r.tos, "IP type of service byte, e.g. 0x10 (IPV6_TCLASS on IPv6)");
  g.add_option("--dscp", r.dscp, "DSCP value 0-63 or name (ef, af11, cs1, ...), sets -S");
  g.add_option("--cport", r.cport,
               "local port of the data connections (with -P: that port and the next ones)")
      ->check(CLI::Range(1, 65535));
  g.add_option("--bind-dev", r.bind_dev, "bind the data connections to DEVICE (SO_BINDTODEVICE)");
  g.add_flag("--dont-fragment", r.dont_fragment, "set IPv4 Don't Fragment on UDP datagrams");
  g.add_option("--pacing-timer", r.pacing_timer,
               "iperf3's pacing tick in microseconds: accepted, nicperf paces by the clock")
      ->check(CLI::Range(1, 1000000));
  g.add_option("-T,--title", r.title, "start each text line with TITLE:");
  g.add_option("--extra-data", r.extra_data, "a string kept as \"extra_data\" in the -J output");
}

void fill_compat_output(const CLI::App&, const CompatRaw& r, Command& cmd) {
  cmd.pidfile = r.pidfile;
  cmd.decoration.forceflush = r.forceflush;
  cmd.decoration.title = r.title;
  if (r.timestamps) cmd.decoration.timestamps = r.timestamps->empty() ? "%c " : *r.timestamps;
}

Status fill_compat_spec(const CLI::App& app, const CompatRaw& r, TestSpec& s) {
  if (!r.blockcount.empty()) {
    if (app.count("-t") || app.count("-n")) return usage("-k, -t and -n exclude each other");
    auto k = parse_size(r.blockcount);
    if (!k) return k.error();
    if (*k == 0) return usage("-k must be at least 1 block");
    if (*k > (1ull << 50) / s.block_len) return usage("-k asks for more than 1 PB");
    s.bytes = *k * s.block_len;  // iperf3 counts blocks over all streams, as -n counts bytes
  }
  if (!r.tos.empty() && !r.dscp.empty()) return usage("-S and --dscp both set the TOS byte");
  if (!r.tos.empty()) {
    auto t = parse_tos(r.tos);
    if (!t) return t.error();
    s.tos = *t;
  }
  if (!r.dscp.empty()) {
    auto d = parse_dscp(r.dscp);
    if (!d) return d.error();
    s.tos = *d;
  }
  s.mss = r.mss;
  s.client_port = r.cport;
  s.bind_dev = r.bind_dev;
  s.dont_fragment = r.dont_fragment;
  if (s.dont_fragment && !is_udp(s)) return usage("--dont-fragment is for UDP tests: add -u");
  return ok();
}

}  // namespace nicperf::cli
