// `nicperf plot RESULT.json -o FILE.svg`: a saved -J (or --json-stream) result drawn as one
// self-contained SVG. build_figure() turns a document into a chart model (panels of series with
// their axes already fitted); render_svg() is the only view. Both are pure, so tests can build a
// document by hand and check the model and the markup.
//
// What is drawn depends on the document:
//   single test      throughput per stream (and their sum) over time, from intervals[]; under
//                    it each side's CPU per interval (user, kernel, softirq, hardirq stacked)
//                    when intervals[] carry it
//   --compare        bars per path: Gbit/s, CPU s/GB per side, cycles/B per side when measured,
//                    median with min-max whiskers
//   --compare-nic    NIC interrupts per GB and frames per interrupt against the swept setting,
//                    one line per path
// A livelock sweep (delivered vs offered rate) needs UDP, which nicperf does not have yet: such
// input is refused, not guessed at.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nicperf/results/results.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {
namespace plot {

struct Point {
  double x = 0, y = 0;
  std::optional<double> lo, hi;  // a whisker, e.g. min-max over --repeat runs
};

struct Series {
  std::string name;
  int color = 0;  // index into the palette; -1 is the dark "total" colour
  bool dashed = false;
  bool markers = false;
  bool faint = false;         // one of many alike lines: thin and half transparent
  bool area = false;          // a filled outline (a stacked layer): points go round it
  std::vector<Point> points;  // lines: in x order; bars: x is the category index
};

// A shaded x range, e.g. the -O omitted seconds.
struct Band {
  double from = 0, to = 0;
  std::string label;
};

struct Axis {
  std::string label;  // with its unit: "time (s)", "Gbit/s"
  double min = 0, max = 1;
  std::vector<double> ticks;
  std::vector<std::string> categories;  // non-empty: slot i is category i, not a number
};

enum class PanelKind { kLines, kBars };

struct Panel {
  std::string title;
  PanelKind kind = PanelKind::kLines;
  Axis x, y;
  std::vector<Series> series;
  std::vector<Band> bands;
};

struct Figure {
  std::string title;
  std::vector<std::string> subtitle;  // facts about the test, joined with " · " and wrapped
  std::vector<Panel> panels;
  std::vector<std::string> notes;  // footnotes: what the whiskers are, what is missing and why
  bool one_column = false;         // panels one under the other, sharing a time axis
};

enum class PlotKind { kSingle, kCompare, kNicSweep, kLivelock };

// Ticks at 1, 2, 2.5 or 5 times a power of ten covering [lo, hi], about `target` of them; the
// first is <= lo and the last >= hi. A degenerate or non-finite range gets a usable one.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// A tick's label with as many decimals as its step needs; 12000 -> "12k".
std::string format_tick(double value, double step);
// Text safe in XML content and attribute values; control characters XML forbids are dropped.
std::string xml_escape(std::string_view text);
// Fits each axis to its series and sets its ticks: y from 0 (or the lowest value, if negative)
// to a tick at or above the highest; x over the data.
void fit_axes(Panel& panel);

// Errors are usage errors (Errc::kUsage), one line each.
Expected<PlotKind> plot_kind(const Json& doc);
Expected<Figure> build_figure(const Json& doc);

std::string render_svg(const Figure& figure);

// A flame graph of folded stacks (--profile-out's "side;frame;... count" lines); with `base`,
// the differential view: frames as wide as in `folded`, red where `folded` spends the larger
// share, blue where `base` does. Usage errors for text that is not folded stacks.
Expected<std::string> flame_svg(const std::string& folded, const std::string* base,
                                const std::string& title);

}  // namespace plot

// The `nicperf plot` subcommand; args exclude "plot" itself. Returns the exit code.
int run_plot_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace nicperf
