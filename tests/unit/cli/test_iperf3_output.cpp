// iperf3's -f, --json-stream-full-output and -F through nicperf's parser.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "nicperf/cli/cli.hpp"

using namespace nicperf;

namespace {

// A file of `size` bytes in /tmp, removed when the test ends.
struct TempFile {
  explicit TempFile(std::size_t size) {
    char tmpl[] = "/tmp/nicperf-ut.XXXXXX";
    int fd = mkstemp(tmpl);
    path = tmpl;
    std::string data(size, 'x');
    CHECK(write(fd, data.data(), size) == ssize_t(size));
    close(fd);
  }
  ~TempFile() { unlink(path.c_str()); }
  std::string path;
};

}  // namespace

TEST_CASE("-f sets the text report's rate unit on either side, other letters are refused") {
  auto c = parse_command_line({"-c", "h", "-f", "m"});
  REQUIRE(c);
  CHECK(c->client.rate_unit == 'm');
  auto s = parse_command_line({"-s", "--format=G"});
  REQUIRE(s);
  CHECK(s->server.rate_unit == 'G');
  auto none = parse_command_line({"-c", "h"});
  REQUIRE(none);
  CHECK(none->client.rate_unit == 0);
  for (const char* bad : {"a", "A", "x", "mm", "b"}) {
    CAPTURE(bad);
    auto e = parse_command_line({"-c", "h", "-f", bad});
    REQUIRE_FALSE(e);
    CHECK(e.error().code == Errc::kUsage);
  }
}

TEST_CASE("--json-stream-full-output adds the -J document to --json-stream, as iperf3 3.21") {
  auto c = parse_command_line({"-c", "h", "--json-stream", "--json-stream-full-output"});
  REQUIRE(c);
  CHECK(c->client.format == Format::kJsonStreamFull);
  auto s = parse_command_line({"-s", "--json-stream", "--json-stream-full-output"});
  REQUIRE(s);
  CHECK(s->server.format == Format::kJsonStreamFull);
  // Alone it changes nothing, as in iperf3 (whose JSON needs -J or --json-stream).
  auto alone = parse_command_line({"-c", "h", "--json-stream-full-output"});
  REQUIRE(alone);
  CHECK(alone->client.format == Format::kText);
  auto plain = parse_command_line({"-c", "h", "--json-stream"});
  REQUIRE(plain);
  CHECK(plain->client.format == Format::kJsonStream);
}

TEST_CASE("-F ends at the file's size unless -t, -n or -k bounds the test") {
  TempFile f(1000003);
  auto c = parse_command_line({"-c", "h", "-F", f.path});
  REQUIRE(c);
  CHECK(c->client.file == f.path);
  CHECK(c->client.spec.bytes == 1000003u);
  auto n = parse_command_line({"-c", "h", "-F", f.path, "-n", "5M"});
  REQUIRE(n);
  CHECK(n->client.spec.bytes == 5u << 20);
  auto t = parse_command_line({"-c", "h", "-F", f.path, "-t", "3"});
  REQUIRE(t);
  CHECK(t->client.spec.bytes == 0u);
  auto z = parse_command_line({"-c", "h", "-F", f.path, "-Z"});
  REQUIRE(z);
  CHECK(z->client.spec.send_mode == "sendfile");
  // -R: the file is written, so it needs no content; -n or -t bounds the test.
  std::string out = f.path + ".out";
  auto r = parse_command_line({"-c", "h", "-R", "-F", out, "-n", "1M"});
  REQUIRE(r);
  CHECK(r->client.file == out);
  CHECK(r->client.spec.bytes == 1u << 20);
  unlink(out.c_str());
}

TEST_CASE("-F is refused, with one line, where it cannot mean what iperf3 means") {
  TempFile f(100);
  TempFile empty(0);
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"-c", "h", "-F", f.path, "--verify"},
        {"-c", "h", "-F", "/nonexistent/file"},
        {"-c", "h", "-F", "/tmp"},
        {"-c", "h", "-F", empty.path},
        {"-c", "h", "-R", "-F", "/nonexistent/dir/out"},
        {"-c", "h", "-F", f.path, "-u"},
        {"-c", "h", "-F", f.path, "-P", "2"},
        {"-c", "h", "-F", f.path, "--bidir", "-t", "1"},
        {"-c", "h", "-F", f.path, "--random-payload"},
        {"-c", "h", "-F", f.path, "--mode", "splice"},
        {"-c", "h", "-R", "-F", f.path, "--recv-mode", "discard"},
        {"-c", "h", "-F", f.path, "--compare"},
        {"-s", "-F", f.path}}) {
    std::string joined;
    for (const auto& a : bad) joined += a + " ";
    CAPTURE(joined);
    auto e = parse_command_line(bad);
    REQUIRE_FALSE(e);
    CHECK(e.error().code == Errc::kUsage);
    CHECK(e.error().message.find('\n') == std::string::npos);
  }
}
