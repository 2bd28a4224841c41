// The documents stay true to the program: every option --help lists is in the man page, and
// the README's two commands are the ones CI runs.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "harness.hpp"

namespace {

std::string source(const std::string& path) {
  return harness::slurp(std::string(NICPERF_SOURCE_DIR) + "/" + path);
}

}  // namespace

TEST_CASE("every option in --help is documented in the man page") {
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

TEST_CASE("the README's two commands are the ones CI and the demo use") {
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

TEST_CASE("every nicperf-nicd option is documented in its man page") {
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
