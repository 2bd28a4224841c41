// iperf3's -f, --json-stream-full-output and -F end to end: the units and layout iperf3 3.21
// prints, the -J document after the stream, a file sent and written byte for byte.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <set>

#include "harness.hpp"

using harness::have_iperf321;
using harness::kIperf321;
using harness::Proc;
using nlohmann::json;

namespace {

struct Rate {
  std::string number, unit;  // "9420", "Mbits"
};

// The rate column of every report line ("[  1]   0.00-1.00   sec  1.08 GBytes  9248
// Mbits/sec"), and checks that the transfer column stayed adaptive.
std::vector<Rate> rates(const std::string& text) {
  static const std::regex line(
      R"(\[\s*(?:\d+|SUM)\]\s+[\d.]+-[\d.]+\s+sec\s+[\d.]+ (?:|K|M|G|T)Bytes\s+([\d.]+) (\w+)/sec)");
  std::vector<Rate> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it)
    out.push_back({(*it)[1], (*it)[2]});
  return out;
}

// unit_snprintf's layout: two decimals below 9.995, one below 99.95, none above.
void check_layout(const Rate& r) {
  CAPTURE(r.number);
  double v = std::stod(r.number);
  auto dot = r.number.find('.');
  std::size_t decimals = dot == std::string::npos ? 0 : r.number.size() - dot - 1;
  CHECK(decimals == (v < 9.995 ? 2u : v < 99.95 ? 1u : 0u));
}

std::string file_with(std::size_t size) {
  std::string path = harness::temp_path();
  std::string data(size, 0);
  for (std::size_t i = 0; i < size; ++i) data[i] = char((i * 131 + i / 7) & 0xff);
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? std::uint64_t(st.st_size) : 0;
}

}  // namespace

TEST_CASE("-f prints the rate in iperf3 3.21's units and layout, on both sides" *
          doctest::test_suite("parallel")) {
  if (!have_iperf321()) return;
  harness::Server s({"-f", "K"});
  for (const char* unit : {"k", "m", "g", "t", "K", "M", "G", "T"}) {
    CAPTURE(unit);
    Proc ours({"-c", "127.0.0.1", "-p", s.port_arg(), "-n", "20M", "-f", unit, "--cost", "off"});
    REQUIRE(ours.wait(30) == 0);  // one test at a time: the server answers busy to a second
    Proc theirs(kIperf321, {"-c", "127.0.0.1", "-p", s.port_arg(), "-n", "20M", "-f", unit});
    REQUIRE(theirs.wait(30) == 0);
    auto a = rates(ours.out()), b = rates(theirs.out());
    REQUIRE(a.size() >= 2);  // the end's sender and receiver lines at least
    REQUIRE(b.size() >= 2);
    std::set<std::string> our_units, their_units;
    for (const auto& r : a) our_units.insert(r.unit), check_layout(r);
    for (const auto& r : b) their_units.insert(r.unit), check_layout(r);
    CHECK(our_units == their_units);
    CHECK(our_units.size() == 1);
  }
  // The server's own text took its -f K for each of those tests.
  auto served = rates(s.proc().out());
  REQUIRE_FALSE(served.empty());
  for (const auto& r : served) CHECK(r.unit == "KBytes");
  // -J is not touched by -f (iperf3 warns and ignores it).
  Proc j({"-c", "127.0.0.1", "-p", s.port_arg(), "-n", "1M", "-f", "m", "-J"});
  CHECK(j.wait(30) == 0);
  CHECK(j.json()["end"]["sum_received"]["bytes"] == 1u << 20);
}

TEST_CASE("--json-stream-full-output: the events, then the -J document, as iperf3 3.21") {
  harness::Server s;
  auto check = [](const std::string& out) {
    auto doc = out.find("\n{\n");  // the document is printed indented, the events one a line
    REQUIRE(doc != std::string::npos);
    std::istringstream lines(out.substr(0, doc + 1));
    std::string line, last;
    for (int n = 0; std::getline(lines, line); ++n) {
      json e = json::parse(line, nullptr, false);
      REQUIRE(e.is_object());
      last = e["event"];
    }
    CHECK(last == "end");
    json full = json::parse(out.substr(doc + 1), nullptr, false);
    REQUIRE(full.is_object());
    CHECK(full.contains("start"));
    CHECK(full.contains("intervals"));
    CHECK(full["end"]["sum_received"]["bytes"] == 3u << 20);
  };
  Proc ours({"-c", "127.0.0.1", "-p", s.port_arg(), "-n", "3M", "--json-stream",
             "--json-stream-full-output"});
  REQUIRE(ours.wait(30) == 0);
  check(ours.out());
  if (!have_iperf321()) return;
  Proc theirs(kIperf321, {"-c", "127.0.0.1", "-p", s.port_arg(), "-n", "3M", "--json-stream",
                          "--json-stream-full-output"});
  REQUIRE(theirs.wait(30) == 0);
  check(theirs.out());
}

TEST_CASE("-F sends a file of odd size and ends at its size, -R -F writes what arrives" *
          doctest::test_suite("parallel")) {
  harness::Server s;
  std::string in = file_with(1000003);
  for (const char* mode : {"write", "sendfile"}) {
    CAPTURE(mode);
    Proc c({"-c", "127.0.0.1", "-p", s.port_arg(), "-F", in, "--mode", mode, "-J"});
    REQUIRE(c.wait(30) == 0);
    CHECK(c.json()["end"]["sum_sent"]["bytes"] == 1000003);
    CHECK(c.json()["end"]["sum_received"]["bytes"] == 1000003);  // the server's count
  }
  // The "Sent" line is iperf3 3.21's, to the byte, for the same file and count.
  if (have_iperf321()) {
    Proc ours({"-c", "127.0.0.1", "-p", s.port_arg(), "-F", in, "--cost", "off"});
    REQUIRE(ours.wait(30) == 0);
    Proc theirs(kIperf321, {"-c", "127.0.0.1", "-p", s.port_arg(), "-F", in});
    REQUIRE(theirs.wait(30) == 0);
    std::string want = "        Sent  977 KByte /  977 KByte (100%) of " + in + "\n";
    CHECK(theirs.out().find(want) != std::string::npos);
    CHECK(ours.out().find(want) != std::string::npos);
  }
  std::string out = harness::temp_path();
  Proc r({"-c", "127.0.0.1", "-p", s.port_arg(), "-R", "-n", "2000001", "-F", out, "-J"});
  REQUIRE(r.wait(30) == 0);
  CHECK(r.json()["end"]["sum_received"]["bytes"] == 2000001);
  CHECK(file_size(out) == 2000001);
  CHECK(harness::slurp(out).rfind("0123456789012", 0) == 0);  // the server's pattern
  unlink(out.c_str());
  unlink(in.c_str());
}

TEST_CASE("-F's bytes arrive as they are in the file: a stock iperf3 -s -F writes them") {
  if (!harness::have_iperf3()) return;
  std::string in = file_with(777777), out = harness::temp_path();
  int free = harness::free_port();
  std::string port = std::to_string(free);
  Proc srv(harness::kIperf3, {"-s", "-1", "-p", port, "-F", out});
  REQUIRE(harness::wait_listening(free));
  Proc c({"-c", "127.0.0.1", "-p", port, "--iperf3", "-F", in, "-J"});
  CHECK(c.wait(30) == 0);
  CHECK(srv.wait(30) == 0);
  CHECK(file_size(out) == 777777);
  CHECK(harness::slurp(out) == harness::slurp(in));
  unlink(in.c_str());
  unlink(out.c_str());
}

TEST_CASE("-F: an unreadable file, --verify or UDP stop with one line and exit 2" *
          doctest::test_suite("parallel")) {
  std::string in = file_with(100);
  harness::check_usage_error({"-c", "127.0.0.1", "-F", "/nonexistent/nicperf-file"});
  harness::check_usage_error({"-c", "127.0.0.1", "-F", "/tmp"});
  harness::check_usage_error({"-c", "127.0.0.1", "-F", in, "--verify"});
  harness::check_usage_error({"-c", "127.0.0.1", "-F", in, "-u"});
  harness::check_usage_error({"-c", "127.0.0.1", "-R", "-F", "/nonexistent/dir/out"});
  if (geteuid() != 0) {  // root reads a mode-0 file anyway
    chmod(in.c_str(), 0);
    harness::check_usage_error({"-c", "127.0.0.1", "-F", in});
  }
  unlink(in.c_str());
}
