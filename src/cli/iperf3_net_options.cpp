#include "cli/iperf3_net_options.hpp"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>

#include "nicperf/util/units.hpp"

namespace nicperf::cli {
namespace {

// One "/"-separated part of --cntl-ka: empty = 0 (the kernel's value).
Expected<int> ka_part(const std::string& text) {
  if (text.empty()) return 0;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (*end || errno || v < 0 || v > 32767)
    return usage("--cntl-ka takes IDLE/INTERVAL/COUNT in whole seconds and probes, got '" + text +
                 "'");
  return int(v);
}

}  // namespace

Expected<KeepAlive> parse_cntl_ka(const std::string& text) {
  KeepAlive ka{true, 0, 0, 0};
  int* fields[] = {&ka.idle, &ka.interval, &ka.count};
  std::size_t at = 0;
  for (int i = 0; i < 3 && at <= text.size(); ++i) {
    auto slash = text.find('/', at);
    if (slash == std::string::npos || i == 2) slash = text.size();
    auto v = ka_part(text.substr(at, slash - at));
    if (!v) return v.error();
    *fields[i] = *v;
    at = slash + 1;
  }
  // iperf3's check on the values given (the kernel's fill the rest when the socket is set).
  if (ka.idle && ka.idle <= ka.interval * ka.count)
    return usage("--cntl-ka: the idle time (" + std::to_string(ka.idle) +
                 " s) must be longer than the retry interval times the count");
  return ka;
}

Expected<BitrateLimit> parse_bitrate_limit(const std::string& text) {
  BitrateLimit limit;
  auto slash = text.find('/');
  auto rate = parse_rate(text.substr(0, slash));
  if (!rate) return rate.error();
  if (*rate < 1) return usage("--server-bitrate-limit needs a rate above 0, e.g. 1G");
  limit.rate = std::uint64_t(*rate);
  if (slash != std::string::npos) {
    char* end = nullptr;
    std::string secs = text.substr(slash + 1);
    limit.seconds = std::strtod(secs.c_str(), &end);
    if (secs.empty() || *end || limit.seconds < 0.1 || limit.seconds > 60)
      return usage("--server-bitrate-limit RATE/SECS averages over 0.1 to 60 seconds, got '" +
                   secs + "'");
  }
  return limit;
}

Expected<int> parse_flowlabel(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 0);  // iperf3 reads it with strtol(.., 0)
  if (text.empty() || *end || errno || v < 1 || v > 0xfffff)
    return usage("-L takes an IPv6 flow label 1-1048575 (0xfffff), got '" + text + "'");
  return int(v);
}

void define_net_both(CLI::App& g, NetRaw& r) {
  g.add_option("--cntl-ka", r.cntl_ka,
               "TCP keepalive on the control connection, --cntl-ka=IDLE/INTERVAL/COUNT (seconds, "
               "seconds, probes; each optional)")
      ->expected(0, 1);
  g.add_flag("-m,--mptcp", r.mptcp,
             "MPTCP (IPPROTO_MPTCP): a client's data connections, a server's listening socket");
}

void define_net_client(CLI::App& g, NetRaw& r) {
  g.add_option("-L,--flowlabel", r.flowlabel, "IPv6 flow label of the data connections");
}

void define_net_server(CLI::App& g, NetRaw& r) {
  g.add_option("--server-bitrate-limit", r.bitrate_limit,
               "end tests asking for or averaging more than RATE[/SECS] (all streams; averaged "
               "over SECS, default 5)");
}

Status fill_net_client(const NetRaw& r, ClientOptions& c) {
  if (r.cntl_ka) {
    auto ka = parse_cntl_ka(*r.cntl_ka);
    if (!ka) return ka.error();
    c.control_keepalive = *ka;
  }
  c.spec.mptcp = r.mptcp;
  if (!r.flowlabel.empty()) {
    auto label = parse_flowlabel(r.flowlabel);
    if (!label) return label.error();
    c.spec.flowlabel = *label;
  }
  if (uses_udp(c.spec) && (c.spec.mptcp || c.spec.flowlabel))
    return usage(std::string(c.spec.mptcp ? "-m" : "-L") +
                 " is for TCP data connections, as in iperf3: drop -u");
  if (c.spec.flowlabel && c.family == 4) return usage("-L sets an IPv6 flow label: drop -4");
  return ok();
}

Status fill_net_server(const NetRaw& r, ServerOptions& s) {
  if (r.cntl_ka) {
    auto ka = parse_cntl_ka(*r.cntl_ka);
    if (!ka) return ka.error();
    s.control_keepalive = *ka;
  }
  if (!r.bitrate_limit.empty()) {
    auto limit = parse_bitrate_limit(r.bitrate_limit);
    if (!limit) return limit.error();
    s.bitrate_limit = *limit;
  }
  s.mptcp = r.mptcp;
  return ok();
}

}  // namespace nicperf::cli
