// iperf3 3.21's command line, option by option: what nicperf does with each. The parser
// translates argv with it before CLI11 sees it (aliases become nicperf's spelling, refused
// options stop with their reason), the man page's IPERF3 section lists it, and tests keep
// both in step with it.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "nicperf/util/error.hpp"

namespace nicperf::cli {

enum class Iperf3Fate {
  kNative,   // nicperf's parser takes it under this name
  kAlias,    // nicperf's own option does it: `nicperf` is what the argument becomes
  kRefused,  // stops with `note`, exit 2
  kOther,    // owned by another part (its parser row lives there); passed through untouched
};

struct Iperf3Option {
  const char* short_name;  // "-k", or "" when iperf3 has none
  const char* long_name;   // "--blockcount"
  bool takes_value;
  Iperf3Fate fate;
  const char* nicperf;  // kAlias: the replacement ("--mode sendfile"); an empty one drops it
  const char* note;     // what nicperf does with it, or (kRefused) why not and what instead
  const char* example;  // a value for the tests, when it takes one
};

std::span<const Iperf3Option> iperf3_options();

// argv with iperf3's aliases replaced; a usage error naming the first refused option.
Expected<std::vector<std::string>> translate_iperf3(const std::vector<std::string>& args);

}  // namespace nicperf::cli
