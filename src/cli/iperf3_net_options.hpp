// iperf3's connection options nicperf took over: --cntl-ka, --server-bitrate-limit, -m and -L
// (see iperf3_table.hpp), their CLI11 definitions and what they set.
#pragma once

#include <optional>
#include <string>

#include "nicperf/session/session.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace nicperf::cli {

struct NetRaw {
  std::optional<std::string> cntl_ka;  // --cntl-ka[=IDLE/INTV/CNT]
  std::string bitrate_limit;           // --server-bitrate-limit RATE[/SECS]
  bool mptcp = false;                  // -m
  std::string flowlabel;               // -L
};

void define_net_both(CLI::App& g, NetRaw& r);
void define_net_client(CLI::App& g, NetRaw& r);
void define_net_server(CLI::App& g, NetRaw& r);

Status fill_net_client(const NetRaw& r, ClientOptions& c);
Status fill_net_server(const NetRaw& r, ServerOptions& s);

// iperf3's spellings: "IDLE/INTV/CNT", any part empty or missing (the kernel's value), and
// "RATE[/SECS]" (SECS 0.1-60, default 5, as iperf3).
Expected<KeepAlive> parse_cntl_ka(const std::string& text);
Expected<BitrateLimit> parse_bitrate_limit(const std::string& text);
Expected<int> parse_flowlabel(const std::string& text);

}  // namespace nicperf::cli
