#include "nicperf/tools/command.hpp"

#include <CLI/CLI.hpp>
#include <ostream>

#include "nicperf/util/error.hpp"

namespace nicperf {

std::optional<int> parse_subcommand(CLI::App& app, const std::string& name,
                                    const std::vector<std::string>& args, std::ostream& out,
                                    std::ostream& err) {
  // CLI11 takes the arguments last-first when given a vector.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    err << "nicperf: error: " << e.what() << " (see nicperf " << name << " --help)\n";
    return exit_code(Errc::kUsage);
  }
  return std::nullopt;
}

}  // namespace nicperf
