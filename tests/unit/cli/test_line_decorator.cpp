#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cli/line_decorator.hpp"

using namespace nicperf;

TEST_CASE("-T and --timestamps start every line, and only lines") {
  std::ostringstream target;
  Command::Decoration d;
  d.title = "run1";
  d.timestamps = "[x] ";  // a format without conversions: the same text every time
  cli::LineDecorator buf(target, d);
  std::ostream out(&buf);
  out << "first line\nsecond"
      << " line\n";
  out.flush();
  CHECK(target.str() == "run1:  [x] first line\nrun1:  [x] second line\n");
}

TEST_CASE("-I writes the pid file and removes it at the end") {
  std::string path = "/tmp/nicperf-unit-" + std::to_string(getpid()) + ".pid";
  {
    cli::PidFile pid(path);
    CHECK(pid.ok());
    std::ifstream f(path);
    int written = 0;
    f >> written;
    CHECK(written == getpid());
  }
  CHECK(access(path.c_str(), F_OK) != 0);
  cli::PidFile bad("/nonexistent-dir/x.pid");
  CHECK_FALSE(bad.ok());
}
