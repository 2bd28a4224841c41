#include "nicperf/util/error.hpp"

#include <cstring>

namespace nicperf {

int exit_code(Errc code) {
  switch (code) {
#define NICPERF_CASE(name, value, text) \
  case Errc::name:                      \
    return value;
    NICPERF_ERRORS(NICPERF_CASE)
#undef NICPERF_CASE
  }
  return 1;
}

const char* errc_name(Errc code) {
  switch (code) {
#define NICPERF_CASE(name, value, text) \
  case Errc::name:                      \
    return text;
    NICPERF_ERRORS(NICPERF_CASE)
#undef NICPERF_CASE
  }
  return "unknown";
}

Error usage(const std::string& what) { return {Errc::kUsage, what}; }

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

}  // namespace nicperf
