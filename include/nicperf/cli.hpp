// The command line: CLI11 turns argv into client or server options. Nothing else uses CLI11.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/compare.hpp"
#include "nicperf/session.hpp"
#include "nicperf/sweep.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace nicperf {

struct Command {
  enum class Kind { kClient, kServer, kPrint } kind = Kind::kPrint;
  ClientOptions client;
  ServerOptions server;
  bool compare = false;
  CompareOptions compare_options;
  bool sweep = false;  // --sweep-rate
  SweepOptions sweep_options;
  std::string logfile;
  std::string netns;    // --netns: entered before anything else runs
  bool daemon = false;  // -D: a server in the background
  std::string text;     // kPrint: what to print (help, version, mode list)
};

Expected<Command> parse_command_line(const std::vector<std::string>& args);

// Parses the options of a subcommand with its own CLI11 app (nicperf diff, nicperf plot) as the
// main command line is parsed: the exit code when parsing ends the run (help printed: 0; a
// usage error printed on one line: 2), nullopt to go on.
std::optional<int> parse_subcommand(CLI::App& app, const std::string& name,
                                    const std::vector<std::string>& args, std::ostream& out,
                                    std::ostream& err);
std::string mode_list();

}  // namespace nicperf
