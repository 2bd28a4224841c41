#include "cli/iperf3_table.hpp"

#include <cstring>

namespace nicperf::cli {
namespace {

using F = Iperf3Fate;

// In iperf3's --help order. A kNative row's option is defined by options.cpp (or
// iperf3_options.cpp) under the same spelling.
const Iperf3Option kTable[] = {
    {"-p", "--port", true, F::kNative, "", "the same", "5201"},
    {"-f", "--format", true, F::kNative, "",
     "the same: the text report's rate column in that unit (kmgt bits, KMGT bytes); the "
     "transfer column and -J are unchanged",
     "m"},
    {"-i", "--interval", true, F::kNative, "", "the same", "1"},
    {"-I", "--pidfile", true, F::kNative, "", "the same: written at start, removed at exit",
     "/tmp/nicperf-test.pid"},
    {"-F", "--file", true, F::kNative, "",
     "the same, on the client: sends the file (ending at its size without -t, -n or -k; "
     "past it the file starts again), with -R writes what arrives; one TCP stream, not with "
     "--verify",
     "/etc/hostname"},
    {"-A", "--affinity", true, F::kNative, "",
     "pins streams; nicperf's form is CLIENT_CPUS[/SERVER_CPUS] (iperf3's n,m is n/m)", "0"},
    {"-B", "--bind", true, F::kNative, "", "the same (a server's listening address)", "127.0.0.1"},
    {"", "--bind-dev", true, F::kNative, "", "the same (SO_BINDTODEVICE on data sockets)", "lo"},
    {"-V", "--verbose", false, F::kNative, "", "the same", ""},
    {"-J", "--json", false, F::kNative, "", "the same", ""},
    {"", "--json-stream", false, F::kNative, "", "the same", ""},
    {"", "--json-stream-full-output", false, F::kNative, "",
     "the same: with --json-stream, the -J document follows the \"end\" line", ""},
    {"", "--logfile", true, F::kNative, "", "the same", "/tmp/nicperf-test.log"},
    {"", "--forceflush", false, F::kNative, "", "the same: each output line is flushed", ""},
    {"", "--timestamps", false, F::kNative, "",
     "the same: each text line starts with the time (strftime FORMAT, default \"%c \")", ""},
    {"", "--rcv-timeout", true, F::kNative, "", "the same, in seconds (iperf3: ms)", "10"},
    {"", "--snd-timeout", true, F::kNative, "", "the same, in seconds (iperf3: ms)", "10"},
    {"-m", "--mptcp", false, F::kNative, "",
     "the same: MPTCP data connections (refused, exit 2, where the kernel has none); with -s "
     "an MPTCP listener",
     ""},
    {"-d", "--debug", false, F::kAlias, "--verbose", "becomes -V (more detail)", ""},
    {"-v", "--version", false, F::kNative, "", "the same", ""},
    {"-h", "--help", false, F::kNative, "", "the same", ""},
    {"-s", "--server", false, F::kNative, "", "the same", ""},
    {"-D", "--daemon", false, F::kNative, "", "the same", ""},
    {"-1", "--one-off", false, F::kNative, "", "the same", ""},
    {"", "--server-bitrate-limit", true, F::kNative, "",
     "the same: refuses or ends (exit 4) a test above RATE, averaged over SECS (default 5)", "1G"},
    {"", "--idle-timeout", true, F::kNative, "", "the same", "30"},
    {"", "--server-max-duration", true, F::kAlias, "--max-duration", "becomes --max-duration",
     "60"},
    {"", "--rsa-private-key-path", true, F::kNative, "", "the same", ""},
    {"", "--authorized-users-path", true, F::kNative, "", "the same", ""},
    {"", "--time-skew-threshold", true, F::kNative, "", "the same", ""},
    {"", "--use-pkcs1-padding", false, F::kNative, "", "the same", ""},
    {"-c", "--client", true, F::kNative, "", "the same", "127.0.0.1"},
    {"", "--sctp", false, F::kRefused, "",
     "--sctp is not built: nicperf tests TCP and UDP (-u); for authentication see --auth-file", ""},
    {"-X", "--xbind", true, F::kRefused, "", "-X (SCTP bind) is not built: nicperf has no SCTP",
     "127.0.0.1"},
    {"", "--nstreams", true, F::kRefused, "",
     "--nstreams (SCTP streams) is not built: nicperf has no SCTP; use -P for parallel streams",
     "2"},
    {"-u", "--udp", false, F::kNative, "", "the same", ""},
    {"", "--connect-timeout", true, F::kNative, "", "the same, in seconds (iperf3: ms)", "10"},
    {"-b", "--bitrate", true, F::kNative, "", "the same, on TCP too (per stream)", "100M"},
    {"", "--bandwidth", true, F::kAlias, "-b", "becomes -b", "100M"},
    {"", "--pacing-timer", true, F::kNative, "",
     "accepted for scripts; nicperf paces by the clock, not a timer tick, so it changes nothing",
     "1000"},
    {"", "--fq-rate", true, F::kNative, "", "the same", "1G"},
    {"-t", "--time", true, F::kNative, "", "the same", "3"},
    {"-n", "--bytes", true, F::kNative, "", "the same", "1M"},
    {"-k", "--blockcount", true, F::kNative, "",
     "the same: the test ends after that many blocks (-l each) in all", "100"},
    {"-l", "--length", true, F::kNative, "", "the same", "64K"},
    {"", "--cport", true, F::kNative, "",
     "the same: the data connections' local port (with -P, that port and the ones after it)",
     "40000"},
    {"-P", "--parallel", true, F::kNative, "", "the same", "2"},
    {"-R", "--reverse", false, F::kNative, "", "the same", ""},
    {"", "--bidir", false, F::kNative, "", "the same", ""},
    {"-w", "--window", true, F::kNative, "", "the same", "1M"},
    {"-C", "--congestion", true, F::kNative, "", "the same", "cubic"},
    {"", "--linux-congestion", true, F::kAlias, "-C", "becomes -C", "cubic"},
    {"-M", "--set-mss", true, F::kNative, "", "the same (TCP_MAXSEG)", "1000"},
    {"-N", "--no-delay", false, F::kNative, "", "the same", ""},
    {"-4", "--version4", false, F::kNative, "", "the same", ""},
    {"-6", "--version6", false, F::kNative, "", "the same", ""},
    {"-S", "--tos", true, F::kNative, "", "the same (IP_TOS, IPV6_TCLASS on IPv6)", "0x10"},
    {"", "--dscp", true, F::kNative, "", "the same: the TOS byte's upper six bits", "af11"},
    {"-L", "--flowlabel", true, F::kNative, "",
     "the same: the IPv6 flow label of the TCP data connections (refused over IPv4)", "1"},
    {"-Z", "--zerocopy", false, F::kAlias, "--mode sendfile",
     "becomes --mode sendfile (see --mode list for MSG_ZEROCOPY and io_uring)", ""},
    {"", "--skip-rx-copy", false, F::kAlias, "--recv-mode discard",
     "becomes --recv-mode discard (MSG_TRUNC)", ""},
    {"-O", "--omit", true, F::kNative, "", "the same", "1"},
    {"-T", "--title", true, F::kNative, "", "the same: each text line starts with \"TITLE:  \"",
     "run1"},
    {"", "--extra-data", true, F::kNative, "",
     "the same: \"extra_data\" at the top of the -J output", "note"},
    {"", "--get-server-output", false, F::kNative, "", "the same", ""},
    {"", "--udp-counters-64bit", false, F::kNative, "",
     "the same (with --iperf3 -u: 64-bit datagram sequence numbers)", ""},
    {"", "--gsro", false, F::kAlias, "--mode gso --recv-mode gro",
     "becomes --mode gso --recv-mode gro (with -u: UDP_SEGMENT sends, UDP_GRO receives)", ""},
    {"", "--repeating-payload", false, F::kAlias, "",
     "accepted: nicperf's default payload is a repeating pattern", ""},
    {"", "--dont-fragment", false, F::kNative, "", "the same (IP_PMTUDISC_DO, UDP)", ""},
    {"", "--username", true, F::kNative, "", "the same (with --iperf3)", ""},
    {"", "--rsa-public-key-path", true, F::kNative, "", "the same (with --iperf3)", ""},
    // Its value is optional and only ever attached (--cntl-ka=10/5/3), as getopt takes it.
    {"", "--cntl-ka", false, F::kNative, "",
     "the same: TCP keepalive on the control connection, --cntl-ka=IDLE/INTERVAL/COUNT", ""},
};

const Iperf3Option* find(const std::string& name) {
  for (const auto& o : kTable)
    if (name == o.long_name || (*o.short_name && name == o.short_name)) return &o;
  return nullptr;
}

// The words an alias becomes ("--mode sendfile" -> two words, "" -> none).
void append_words(std::vector<std::string>& out, const std::string& text) {
  std::size_t at = 0;
  while (at < text.size()) {
    auto space = text.find(' ', at);
    if (space == std::string::npos) space = text.size();
    out.push_back(text.substr(at, space - at));
    at = space + 1;
  }
}

}  // namespace

std::span<const Iperf3Option> iperf3_options() { return kTable; }

Expected<std::vector<std::string>> translate_iperf3(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto eq = a.rfind("--", 0) == 0 ? a.find('=') : std::string::npos;
    std::string name = a.substr(0, eq);
    const Iperf3Option* o = find(name);
    if (!o || o->fate == Iperf3Fate::kNative || o->fate == Iperf3Fate::kOther) {
      out.push_back(a);
      if (o && o->takes_value && eq == std::string::npos && i + 1 < args.size())
        out.push_back(args[++i]);  // a value is never read as an option
      continue;
    }
    if (o->fate == Iperf3Fate::kRefused) return usage(o->note);
    append_words(out, o->nicperf);
    if (!o->takes_value) continue;
    if (eq != std::string::npos)
      out.push_back(a.substr(eq + 1));
    else if (i + 1 < args.size())
      out.push_back(args[++i]);
  }
  return out;
}

}  // namespace nicperf::cli
