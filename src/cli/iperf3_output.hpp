// iperf3's -f, --json-stream-full-output and -F (see iperf3_table.hpp): their CLI11 rows and
// what they set in the command. Apart from iperf3_options.* so each part stays small.
#pragma once

#include <string>

#include "nicperf/cli/cli.hpp"

namespace CLI {
class App;
}  // namespace CLI

namespace nicperf::cli {

struct OutputFileRaw {
  std::string format;  // -f: one of kmgtKMGT
  bool json_stream_full = false;
  std::string file;  // -F
};

void define_output_both(CLI::App& g, OutputFileRaw& r);  // -f, --json-stream-full-output
void define_file_client(CLI::App& g, OutputFileRaw& r);  // -F

// -f and --json-stream-full-output into the client's or the server's options (after they are
// filled).
Status fill_output_format(const OutputFileRaw& r, Command& cmd);
// -F's end condition: with no -t, -n or -k the test ends at the file's size, as iperf3's.
Status fill_file_spec(const CLI::App& app, const OutputFileRaw& r, TestSpec& s);
// -F into the client's options, refused with what it cannot go with; the file must be
// readable (sending) or writable (-R) now, so a typo stops here with exit 2.
Status fill_file_client(const OutputFileRaw& r, Command& cmd);

}  // namespace nicperf::cli
