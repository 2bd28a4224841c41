// Shared by the plot*.cpp files: readers of a result document that may be hand-made (every
// field is checked before use), the facts a title is made of, and the chart builders.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nicperf/tools/plot.hpp"

namespace nicperf::plot {

inline Error usage(const std::string& message) { return {Errc::kUsage, message}; }

// The value at a key path, or null when any step is missing or not an object.
const Json* at(const Json& j, std::initializer_list<const char*> path);
// A finite number at a key path.
std::optional<double> number(const Json& j, std::initializer_list<const char*> path);
// A field as one line of text ("" when absent): the title and error line must stay one line.
std::string text(const Json& j, std::initializer_list<const char*> path);
bool flag(const Json& j, const char* key, bool otherwise);
// An array member, or an empty array.
const Json& items(const Json& j, const char* key);

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
Expected<Figure> compare_figure(const Json& doc);
Expected<Figure> sweep_figure(const Json& doc);
Expected<Figure> livelock_figure(const Json& doc);  // --sweep-rate

}  // namespace nicperf::plot
