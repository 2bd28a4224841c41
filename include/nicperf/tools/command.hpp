// What the tools' subcommands (nicperf diff, nicperf plot) share: their CLI11 parsing.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace nicperf {

// Parses the options of a subcommand with its own CLI11 app (nicperf diff, nicperf plot) as the
// main command line is parsed: the exit code when parsing ends the run (help printed: 0; a
// usage error printed on one line: 2), nullopt to go on.
std::optional<int> parse_subcommand(CLI::App& app, const std::string& name,
                                    const std::vector<std::string>& args, std::ostream& out,
                                    std::ostream& err);

}  // namespace nicperf
