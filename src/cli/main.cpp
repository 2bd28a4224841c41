// nicperf: thin main; everything lives in nicperf_core.
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>

#include "cli/line_decorator.hpp"
#include "nicperf/cli/cli.hpp"
#include "nicperf/tools/diff.hpp"
#include "nicperf/tools/plot.hpp"
#include "nicperf/util/netns.hpp"

int main(int argc, char** argv) {
  using namespace nicperf;
  std::vector<std::string> args(argv + 1, argv + argc);
  // A subcommand with its own options, so it never meets the test options.
  if (!args.empty() && args[0] == "diff")
    return run_diff_command({args.begin() + 1, args.end()}, std::cout, std::cerr);
  if (!args.empty() && args[0] == "plot")
    return run_plot_command({args.begin() + 1, args.end()}, std::cout, std::cerr);
  auto cmd = parse_command_line(args);
  if (!cmd) {
    std::cerr << "nicperf: error: " << cmd.error().message << "\n";
    return exit_code(cmd.error().code);
  }
  if (cmd->kind == Command::Kind::kPrint) {
    std::cout << cmd->text;
    return 0;
  }
  if (!cmd->netns.empty()) {
    if (auto s = enter_netns(cmd->netns); !s) {
      std::cerr << "nicperf: error: " << s.error().message << "\n";
      return exit_code(s.error().code);
    }
  }
  // Before any thread exists: fork() keeps only the calling thread.
  if (cmd->daemon && daemon(1, cmd->logfile.empty() ? 0 : 1) != 0) {
    std::cerr << "nicperf: error: " << errno_text("cannot run in the background", errno) << "\n";
    return exit_code(Errc::kSystem);
  }
  std::ofstream logfile;
  if (!cmd->logfile.empty()) {
    logfile.open(cmd->logfile, std::ios::app);
    if (!logfile) {
      std::cerr << "nicperf: error: cannot open log file '" << cmd->logfile << "'\n";
      return exit_code(Errc::kUsage);
    }
  }
  cli::PidFile pidfile(cmd->pidfile);  // after -D: the pid is the daemon's
  if (!pidfile.ok()) {
    std::cerr << "nicperf: error: cannot write the pid file '" << cmd->pidfile << "'\n";
    return exit_code(Errc::kUsage);
  }
  std::ostream& plain_out = logfile.is_open() ? logfile : std::cout;
  std::ostream& plain_err = logfile.is_open() ? logfile : std::cerr;
  // -T, --timestamps and --forceflush shape text lines; JSON stays JSON.
  Format format = cmd->kind == Command::Kind::kServer ? cmd->server.format : cmd->client.format;
  const auto& d = cmd->decoration;
  bool decorate =
      format == Format::kText && (!d.title.empty() || !d.timestamps.empty() || d.forceflush);
  cli::LineDecorator out_buf(plain_out, d), err_buf(plain_err, d);
  std::ostream decorated_out(&out_buf), decorated_err(&err_buf);
  std::ostream& out = decorate ? decorated_out : plain_out;
  std::ostream& err = decorate ? decorated_err : plain_err;
  if (cmd->kind == Command::Kind::kServer) return run_server(cmd->server, out, err);
  if (cmd->sweep) return run_sweep(cmd->client, cmd->sweep_options, out, err);
  if (cmd->compare) return run_compare(cmd->client, cmd->compare_options, out, err);
  return run_client(cmd->client, out, err);
}
