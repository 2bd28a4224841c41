// The figures nicperf diff compares, shared by the comparison and its output.
#pragma once

#include <string>

#include "nicperf/tools/diff.hpp"

namespace nicperf {

struct FigureDef {
  const char* key;
  const char* label;
  Better better;
  int decimals;
  double scale;  // shares are stored 0-1 and shown in percent
  const char* suffix;
};

// The definition of a --compare row's figure by its key (the first one for an unknown key).
const FigureDef& figure_def(const std::string& key);

}  // namespace nicperf
