// Shared by the plot*.cpp files: the facts a title is made of, and the chart builders.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nicperf/tools/plot.hpp"
#include "nicperf/tools/saved_result.hpp"

namespace nicperf::plot {

// The field readers every tool shares.
using saved::at;
using saved::flag;
using saved::items;
using saved::number;
using saved::text;

// "2", "0.5": no trailing zeros.
std::string short_number(double v);
std::string plural(double n, const std::string& word);  // "2 streams", "1 round"
std::string join(const std::vector<std::string>& parts, const std::string& sep);

// The headline facts of a test: where to, what was sent, for how long; the rest for a subtitle.
struct Facts {
  std::string host, paths, streams, length;
  std::vector<std::string> rest;
};
Facts facts(const Json& doc);
// Notes every kind shares: a run that was cut short, a slow build.
void document_notes(const Json& doc, Figure& f);

Expected<Figure> single_figure(const Json& doc);
// Under a single test's throughput panel: each side's CPU per interval, when intervals[] carry it.
void add_cpu_panels(const Json& doc, Figure& fig);
Expected<Figure> compare_figure(const Json& doc);
Expected<Figure> sweep_figure(const Json& doc);
Expected<Figure> livelock_figure(const Json& doc);  // --sweep-rate

}  // namespace nicperf::plot
