// The entry: parse argv with the option table, answer --help, --version and --mode list, and
// hand the rest to validate.
#include "nicperf/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstring>
#include <sstream>

#include "cli/iperf3_table.hpp"
#include "cli/options.hpp"
#include "cli/validate.hpp"
#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"
#include "nicperf/results/context.hpp"

namespace nicperf {
namespace {

template <class Table>
void list_paths(std::ostream& out, const char* title, Table table) {
  out << title << "\n";
  for (const auto& p : table) {
    auto why = path_unavailable(p);
    out << "  " << p.name << std::string(12 - std::min<std::size_t>(11, std::strlen(p.name)), ' ')
        << (why.empty() ? "available    " : "unavailable  ") << p.summary
        << (why.empty() ? "" : " [" + why + "]") << "\n";
  }
}

Command print(std::string text) {
  Command cmd;
  cmd.text = std::move(text);
  return cmd;
}

}  // namespace

std::string mode_list() {
  std::ostringstream out;
  list_paths(out, "Send paths (--mode):", send_paths());
  list_paths(out, "Receive paths (--recv-mode):", recv_paths());
  list_paths(out, "UDP send paths (-u --mode):", dgram_send_paths());
  list_paths(out, "UDP receive paths (-u --recv-mode):", dgram_recv_paths());
  return out.str();
}

Expected<Command> parse_command_line(const std::vector<std::string>& args) {
  CLI::App app("nicperf: network throughput and what it costs, per send path", "nicperf");
  cli::Raw r;
  auto groups = cli::define_options(app, r);
  auto translated = cli::translate_iperf3(args);
  if (!translated) return translated.error();
  // CLI11 takes the arguments last first.
  std::vector<std::string> reversed(translated->rbegin(), translated->rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return print(app.help());
  } catch (const CLI::ParseError& e) {
    return Error{Errc::kUsage, std::string(e.what()) + " (see nicperf --help)"};
  }
  if (r.version) return print("nicperf " + nicperf_version() + " (" + system_info() + ")\n");
  if (r.mode == "list") return print(mode_list());
  return cli::to_command(app, groups, r);
}

}  // namespace nicperf
