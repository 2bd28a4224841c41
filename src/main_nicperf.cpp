// nicperf: thin main; everything lives in nicperf_core.
#include <fstream>
#include <iostream>

#include "nicperf/cli.hpp"

int main(int argc, char** argv) {
  using namespace nicperf;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cmd = parse_command_line(args);
  if (!cmd) {
    std::cerr << "nicperf: error: " << cmd.error().message << "\n";
    return exit_code(cmd.error().code);
  }
  if (cmd->kind == Command::Kind::kPrint) {
    std::cout << cmd->text;
    return 0;
  }
  std::ofstream logfile;
  if (!cmd->logfile.empty()) {
    logfile.open(cmd->logfile, std::ios::app);
    if (!logfile) {
      std::cerr << "nicperf: error: cannot open log file '" << cmd->logfile << "'\n";
      return exit_code(Errc::kUsage);
    }
  }
  std::ostream& out = logfile.is_open() ? logfile : std::cout;
  std::ostream& err = logfile.is_open() ? logfile : std::cerr;
  if (cmd->kind == Command::Kind::kServer) return run_server(cmd->server, out, err);
  if (cmd->compare) return run_compare(cmd->client, cmd->compare_options, out, err);
  return run_client(cmd->client, out, err);
}
