// The series names of a chart panel, in drawing order: what the plot tests compare.
#pragma once

#include <string>
#include <vector>

#include "nicperf/tools/plot.hpp"

namespace plot_test {

inline std::vector<std::string> names(const nicperf::plot::Panel& p) {
  std::vector<std::string> out;
  for (const auto& s : p.series) out.push_back(s.name);
  return out;
}

}  // namespace plot_test
