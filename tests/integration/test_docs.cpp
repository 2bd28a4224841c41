// The documents stay true to the program: every option --help lists is in the man page, and
// the README's two commands are the ones CI runs.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "cli/iperf3_table.hpp"
#include "harness.hpp"

namespace {

std::string source(const std::string& path) {
  return harness::slurp(std::string(NICPERF_SOURCE_DIR) + "/" + path);
}

}  // namespace

TEST_CASE("every option in --help is documented in the man page" *
          doctest::test_suite("parallel")) {
  harness::Proc help({"--help"});
  REQUIRE(help.wait(10) == 0);
  std::string text = help.out();
  std::string man = source("man/nicperf.1");
  REQUIRE_FALSE(man.empty());
  man = std::regex_replace(man, std::regex(R"(\\-)"), "-");
  std::set<std::string> options;
  std::regex long_option(R"((--[a-z0-9][a-z0-9-]*))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), long_option);
       it != std::sregex_iterator(); ++it)
    options.insert((*it)[1]);
  CHECK(options.size() > 30);
  for (const auto& o : options) {
    CAPTURE(o);
    CHECK(man.find(o) != std::string::npos);
  }
}

TEST_CASE("the README's two commands are the ones CI and the demo use" *
          doctest::test_suite("parallel")) {
  std::string readme = source("README.md"), ci = source(".ci/run"), run = source("run");
  CHECK(readme.find("./run demo") != std::string::npos);
  CHECK(readme.find("./run test") != std::string::npos);
  // .ci/run starts with the README's test command.
  auto first = ci.find("\n./");
  REQUIRE(first != std::string::npos);
  CHECK(ci.compare(first + 1, 10, "./run test") == 0);
  CHECK(run.find("demo)") != std::string::npos);
  CHECK(run.find("test)") != std::string::npos);
}

TEST_CASE("every nicperf-nicd option is documented in its man page" *
          doctest::test_suite("parallel")) {
  std::string man = source("man/nicperf-nicd.8");
  REQUIRE_FALSE(man.empty());
  man = std::regex_replace(man, std::regex(R"(\\-)"), "-");
  std::set<std::string> options;
  for (const char* sub : {"up", "down", "stats", "set"}) {
    harness::Proc help(NICPERF_NICD_BIN, {sub, "--help"});
    REQUIRE(help.wait(10) == 0);
    std::string text = help.out();
    std::regex long_option(R"((--[a-z0-9][a-z0-9-]*))");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), long_option);
         it != std::sregex_iterator(); ++it)
      options.insert((*it)[1]);
    CHECK(man.find(std::string(sub)) != std::string::npos);
  }
  CHECK(options.size() > 12);
  for (const auto& o : options) {
    CAPTURE(o);
    CHECK(man.find(o) != std::string::npos);
  }
}

// The man page's IPERF3 section lists every row of the parser's iperf3 table, with what
// nicperf does with it; a refused option is marked so.
TEST_CASE("the man page lists every iperf3 option as the parser's table has it" *
          doctest::test_suite("parallel")) {
  std::string man = source("man/nicperf.1");
  man = std::regex_replace(man, std::regex(R"(\\-)"), "-");
  auto at = man.find(".SS iperf3's options");
  REQUIRE(at != std::string::npos);
  std::string section = man.substr(at, man.find(".SH ", at) - at);
  std::size_t rows = 0;
  for (const auto& o : nicperf::cli::iperf3_options()) {
    std::string name =
        *o.short_name ? std::string(o.short_name) + ", " + o.long_name : std::string(o.long_name);
    CAPTURE(name);
    auto line = section.find(".B " + name + "\n");
    REQUIRE(line != std::string::npos);
    std::size_t note = line + 4 + name.size();  // the line after ".B NAME"
    std::string text = section.substr(note, section.find('\n', note + 1) - note);
    bool refused = text.find("refused: ") != std::string::npos;
    CHECK(refused == (o.fate == nicperf::cli::Iperf3Fate::kRefused));
    ++rows;
  }
  std::size_t listed = 0;
  for (auto p = section.find("\n.B "); p != std::string::npos; p = section.find("\n.B ", p + 1))
    ++listed;
  CHECK(listed == rows);  // nothing in the man page the table does not have
}
