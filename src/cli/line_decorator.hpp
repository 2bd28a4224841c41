// iperf3's -T, --timestamps and --forceflush for text output: a stream buffer that starts each
// line with the title and the time and flushes at each line's end.
#pragma once

#include <ostream>
#include <streambuf>
#include <string>

#include "nicperf/cli/cli.hpp"

namespace nicperf::cli {

class LineDecorator : public std::streambuf {
 public:
  LineDecorator(std::ostream& target, Command::Decoration d) : target_(target), d_(std::move(d)) {}
  // The prefix a line starting now gets.
  std::string prefix() const;

 protected:
  int_type overflow(int_type c) override;
  int sync() override;

 private:
  std::ostream& target_;
  Command::Decoration d_;
  bool line_start_ = true;
};

// The pid file of -I: written when made, removed when destroyed.
class PidFile {
 public:
  explicit PidFile(std::string path);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string path_;
  bool ok_ = true;
};

}  // namespace nicperf::cli
