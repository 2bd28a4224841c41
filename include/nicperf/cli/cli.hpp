// The command line: CLI11 turns argv into client or server options. Nothing else uses CLI11.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/series/compare.hpp"
#include "nicperf/series/sweep.hpp"
#include "nicperf/session/session.hpp"

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
  std::string pidfile;  // -I: written at start, removed at exit
  // What iperf3's -T, --timestamps and --forceflush do to each line of text output.
  struct Decoration {
    std::string title;       // "TITLE:  " before each line
    std::string timestamps;  // strftime format before each line, empty = none
    bool forceflush = false;
  } decoration;
};

Expected<Command> parse_command_line(const std::vector<std::string>& args);

std::string mode_list();

}  // namespace nicperf
