#include "cli/line_decorator.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>

namespace nicperf::cli {

std::string LineDecorator::prefix() const {
  std::string out;
  if (!d_.title.empty()) out = d_.title + ":  ";
  if (!d_.timestamps.empty()) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[256];
    std::size_t n = std::strftime(buf, sizeof buf, d_.timestamps.c_str(), &tm);
    out += std::string(buf, n);
  }
  return out;
}

LineDecorator::int_type LineDecorator::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  if (line_start_) target_ << prefix();
  target_.put(traits_type::to_char_type(c));
  line_start_ = c == '\n';
  if (line_start_ && d_.forceflush) target_.flush();
  return target_ ? c : traits_type::eof();
}

int LineDecorator::sync() {
  target_.flush();
  return target_ ? 0 : -1;
}

PidFile::PidFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  std::ofstream f(path_, std::ios::trunc);
  f << getpid() << "\n";
  ok_ = bool(f);
}

PidFile::~PidFile() {
  if (!path_.empty() && ok_) std::remove(path_.c_str());
}

}  // namespace nicperf::cli
