#include "cli/iperf3_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>

#include "nicperf/paths/registry.hpp"
#include "nicperf/util/unique_fd.hpp"

namespace nicperf::cli {
namespace {

// The size of a file -F may send: a regular file, readable, not empty.
Expected<std::uint64_t> sendable_size(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || fstat(fd.get(), &st) != 0)
    return usage("-F " + path + ": cannot read it: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return usage("-F " + path + ": not a regular file");
  if (st.st_size == 0) return usage("-F " + path + ": the file is empty, nothing to send");
  return std::uint64_t(st.st_size);
}

// -R -F: the received bytes go there; iperf3 creates it for its owner only.
Status check_writable(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR));
  if (!fd) return usage("-F " + path + ": cannot write it: " + std::strerror(errno));
  return ok();
}

Status check_file_spec(const Command& cmd) {
  const TestSpec& s = cmd.client.spec;
  if (is_udp(s)) return usage("-F moves a file over TCP, as iperf3's: drop -u");
  if (is_rr(s)) return usage("-F and --rr exclude each other");
  if (s.verify) return usage("-F sends the file's bytes, not the pattern --verify checks");
  if (s.random_payload) return usage("-F sends the file's bytes: drop --random-payload");
  if (s.streams != 1 || s.direction == Direction::kBidir)
    return usage("-F moves one file over one stream: drop -P and --bidir");
  if (cmd.compare || cmd.sweep) return usage("-F runs one test: drop --compare and --repeat");
  if (s.direction == Direction::kNormal && s.send_mode != "write" && s.send_mode != "sendfile")
    return usage("-F sends with --mode write or sendfile (-Z), not " + s.send_mode);
  const RecvPathInfo* recv = find_recv_path(s.recv_mode);
  if (s.direction == Direction::kReverse && !(recv && (recv->caps & kCapDelivers)))
    return usage("-R -F writes what arrives: receive mode '" + s.recv_mode +
                 "' does not deliver the data (use read)");
  return ok();
}

}  // namespace

void define_output_both(CLI::App& g, OutputFileRaw& r) {
  g.add_option("-f,--format", r.format,
               "the text report's rate in one unit: k, m, g, t (bits/s) or K, M, G, T "
               "(bytes/s)");
  g.add_flag("--json-stream-full-output", r.json_stream_full,
             "with --json-stream: the -J document too, at the end");
}

void define_file_client(CLI::App& g, OutputFileRaw& r) {
  g.add_option("-F,--file", r.file,
               "send FILE's contents (ending at its size without -t, -n or -k); with -R, write "
               "what arrives to FILE");
}

Status fill_output_format(const OutputFileRaw& r, Command& cmd) {
  char unit = 0;
  if (!r.format.empty()) {
    if (r.format.size() != 1 || !std::strchr("kmgtKMGT", r.format[0]))
      return usage("-f takes one of k, m, g, t, K, M, G, T, not '" + r.format + "'");
    unit = r.format[0];
  }
  bool server = cmd.kind == Command::Kind::kServer;
  Format& format = server ? cmd.server.format : cmd.client.format;
  (server ? cmd.server.rate_unit : cmd.client.rate_unit) = unit;
  // Without --json-stream iperf3 3.21 ignores it too.
  if (r.json_stream_full && format == Format::kJsonStream) format = Format::kJsonStreamFull;
  return ok();
}

Status fill_file_spec(const CLI::App& app, const OutputFileRaw& r, TestSpec& s) {
  if (r.file.empty() || s.direction != Direction::kNormal) return ok();
  auto size = sendable_size(r.file);
  if (!size) return size.error();
  if (!app.count("-t") && !app.count("-n") && !app.count("-k")) s.bytes = *size;
  return ok();
}

Status fill_file_client(const OutputFileRaw& r, Command& cmd) {
  if (r.file.empty()) return ok();
  if (auto st = check_file_spec(cmd); !st) return st;
  if (cmd.client.spec.direction == Direction::kReverse)
    if (auto st = check_writable(r.file); !st) return st;
  cmd.client.file = r.file;
  return ok();
}

}  // namespace nicperf::cli
