// The options nicperf took from iperf3 (see iperf3_table.hpp): their CLI11 groups and what
// they set in the command.
#pragma once

#include <optional>
#include <string>

#include "nicperf/cli/cli.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace nicperf::cli {

struct CompatRaw {
  std::string pidfile, bind_dev, title, tos, dscp, blockcount;
  std::string extra_data;
  std::optional<std::string> timestamps;
  bool forceflush = false, dont_fragment = false;
  int cport = 0, mss = 0, pacing_timer = 1000;
};

void define_compat_both(CLI::App& g, CompatRaw& r);
void define_compat_client(CLI::App& g, CompatRaw& r);

// Output and pid file (either side).
void fill_compat_output(const CLI::App& app, const CompatRaw& r, Command& cmd);
// -k, -M, -S/--dscp, --cport, --bind-dev, --dont-fragment into the client's spec.
Status fill_compat_spec(const CLI::App& app, const CompatRaw& r, TestSpec& s);

// -S's number (decimal, 0x hex or 0 octal, as iperf3 takes it) or --dscp's (a number or a
// name: ef, af11-af43, cs0-cs7, le), as the TOS byte.
Expected<int> parse_tos(const std::string& text);
Expected<int> parse_dscp(const std::string& text);

}  // namespace nicperf::cli
