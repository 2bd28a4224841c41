// The chart models: a single test's throughput over time, a --compare result's bars and a
// --compare-nic sweep's lines.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "tools/plot/plot_doc.hpp"

namespace nicperf::plot {
namespace {

// ---- single test -------------------------------------------------------------------------

struct RateUnit {
  double scale;
  const char* name;
};

RateUnit rate_unit(double max_bps) {
  if (max_bps >= 1e9) return {1e9, "Gbit/s"};
  if (max_bps >= 1e6) return {1e6, "Mbit/s"};
  return {1e3, "kbit/s"};
}

// Omitted intervals (-O) count from 0 again once the measured part starts, as in iperf3: the
// measured ones are moved after them so time runs one way.
double omitted_seconds(const Json& intervals) {
  double end = 0;
  for (const auto& iv : intervals)
    if (const Json* sum = at(iv, {"sum"}); sum && flag(*sum, "omitted", false))
      end = std::max(end, number(*sum, {"end"}).value_or(0));
  return end;
}

// One interval as a flat step: the rate is an average over [start, end].
void add_step(Series& s, double from, double to, double value) {
  s.points.push_back({from, value, {}, {}});
  s.points.push_back({to, value, {}, {}});
}

struct Raw {
  std::map<std::string, Series> series;  // by label, so socket order is the sort order
  std::vector<std::string> order;
  double max_bps = 0;
};

void add_sample(Raw& raw, const std::string& label, const Json& s, double shift, bool dashed) {
  auto start = number(s, {"start"}), end = number(s, {"end"}), bps = number(s, {"bits_per_second"});
  if (!start || !end || !bps || *end < *start || *bps < 0) return;
  if (!raw.series.count(label)) {
    raw.order.push_back(label);
    raw.series[label].name = label;
    raw.series[label].dashed = dashed;
  }
  add_step(raw.series[label], *start + shift, *end + shift, *bps);
  raw.max_bps = std::max(raw.max_bps, *bps);
}

// Stream and sum lines from intervals[]; in --bidir each line says which way its bytes went.
Raw interval_series(const Json& intervals) {
  Raw raw;
  double omitted = omitted_seconds(intervals);
  std::set<std::string> sent, received;
  for (const auto& iv : intervals)
    for (const auto& s : items(iv, "streams"))
      (flag(s, "sender", true) ? sent : received).insert(text(s, {"socket"}));
  bool both = !sent.empty() && !received.empty();
  auto way = [&](const Json& j) {
    return both ? flag(j, "sender", true) ? " (sent)" : " (received)" : "";
  };
  for (const auto& iv : intervals) {
    const Json* whole = at(iv, {"sum"});
    double shift = whole && flag(*whole, "omitted", false) ? 0 : omitted;
    for (const auto& s : items(iv, "streams"))
      add_sample(raw, "stream " + text(s, {"socket"}) + way(s), s, shift, false);
    // A sum repeats its stream's line when the stream is alone in its direction.
    for (const char* key : {"sum", "sum_bidir_reverse"}) {
      const Json* sum = at(iv, {key});
      if (!sum) continue;
      bool sender = flag(*sum, "sender", true);
      std::size_t group =
          both ? (sender ? sent.size() : received.size()) : sent.size() + received.size();
      if (group > 1) add_sample(raw, std::string("sum") + way(*sum), *sum, shift, true);
    }
  }
  return raw;
}

// Without interval reports (-i 0) each stream's whole-test average is all there is.
Raw end_series(const Json& end) {
  Raw raw;
  for (const auto& s : items(end, "streams")) {
    const Json* side = at(s, {"receiver"});
    if (!side) side = at(s, {"sender"});
    if (side) add_sample(raw, "stream " + text(*side, {"socket"}), *side, 0, false);
  }
  return raw;
}

std::vector<Band> omitted_bands(const Json& intervals) {
  double omitted = omitted_seconds(intervals);
  if (omitted <= 0) return {};
  return {{0, omitted, "omitted (-O)"}};
}

// Sort key for "stream 10" after "stream 9"; the sums go last.
int series_rank(const std::string& label) {
  if (label.rfind("sum", 0) == 0) return 1 << 30;
  std::size_t digit = label.find_first_of("0123456789");
  if (digit == std::string::npos) return 0;
  long long n = std::strtoll(label.c_str() + digit, nullptr, 10);
  return int(std::clamp<long long>(n, 0, (1 << 30) - 1));
}

}  // namespace

Expected<Figure> single_figure(const Json& doc) {
  const Json* intervals = at(doc, {"intervals"});
  Raw raw;
  bool whole_test = false;
  if (intervals && intervals->is_array()) raw = interval_series(*intervals);
  if (raw.order.empty() && at(doc, {"end", "streams"})) {
    raw = end_series(doc["end"]);
    whole_test = true;
  }
  if (raw.order.empty()) return usage("the result holds no interval or stream throughput to plot");
  std::stable_sort(raw.order.begin(), raw.order.end(),
                   [](const auto& a, const auto& b) { return series_rank(a) < series_rank(b); });
  RateUnit unit = rate_unit(raw.max_bps);
  Panel p;
  p.x.label = "time since the test started (s)";
  p.y.label = unit.name;
  std::size_t streams = 0;
  for (const auto& label : raw.order) streams += label.rfind("sum", 0) != 0;
  // Many streams as many colours is a legend nobody reads: one colour, one entry.
  bool crowd = streams > 10;
  int index = 0;
  for (const auto& label : raw.order) {
    Series s = raw.series[label];
    for (auto& pt : s.points) pt.y /= unit.scale;
    if (label.rfind("sum", 0) == 0) {
      s.color = label == "sum (received)" ? 8 : -1;
    } else if (crowd) {
      s.color = 0;
      s.faint = true;
      s.name = index++ == 0 ? "each of " + std::to_string(streams) + " streams" : "";
    } else {
      s.color = index++;
    }
    p.series.push_back(std::move(s));
  }
  if (intervals && intervals->is_array()) p.bands = omitted_bands(*intervals);
  fit_axes(p);
  Facts f = facts(doc);
  Figure fig;
  fig.title = "Throughput per stream: " + join({f.host, f.paths, f.streams, f.length}, ", ");
  fig.subtitle = f.rest;
  bool omitted = !p.bands.empty();
  fig.panels.push_back(std::move(p));
  add_cpu_panels(doc, fig);
  if (whole_test)
    fig.notes.push_back(
        "No interval reports (-i 0): each line is the stream's whole-test average.");
  else
    fig.notes.push_back("Each step is one interval report's average rate (iperf3's intervals[]).");
  if (omitted)
    fig.notes.push_back("The shaded start was omitted (-O): it is not in the test's totals.");
  document_notes(doc, fig);
  return fig;
}

namespace {

// ---- --compare and --compare-nic ----------------------------------------------------------

struct Row {
  std::string label, send, recv, nic;
  const Json* json;
};

std::optional<Point> spread_point(const Json& row, const char* key, double x) {
  const Json* s = at(row, {key});
  if (!s || !s->is_object()) return std::nullopt;
  auto median = number(*s, {"median"}), lo = number(*s, {"min"}), hi = number(*s, {"max"});
  if (!median || number(*s, {"n"}).value_or(0) < 1) return std::nullopt;
  Point p{x, *median, {}, {}};
  if (lo && hi && *lo <= *median && *median <= *hi) p.lo = *lo, p.hi = *hi;
  return p;
}

// The rows that ran; the others become notes.
std::vector<Row> usable_rows(const Json& doc, Figure& fig) {
  std::vector<Row> rows;
  bool one_recv = true;
  for (const auto& j : doc["compare"]["rows"])
    one_recv &= text(j, {"recv_mode"}) == text(doc["compare"]["rows"][0], {"recv_mode"});
  for (const auto& j : doc["compare"]["rows"]) {
    if (!j.is_object()) continue;
    Row r{"", text(j, {"send_mode"}), text(j, {"recv_mode"}), text(j, {"nic_setting"}), &j};
    r.label = one_recv ? r.send : r.send + "/" + r.recv;
    std::string id = (r.nic.empty() ? "" : r.nic + " ") + r.label;
    if (auto why = text(j, {"unavailable"}); !why.empty()) {
      fig.notes.push_back(id + ": unavailable here (" + why + "), not drawn.");
      continue;
    }
    if (auto n = number(j, {"failures"}); n && *n > 0)
      fig.notes.push_back(id + ": " + plural(*n, "failed run") + " left out.");
    if (!spread_point(j, "gbps", 0)) {
      fig.notes.push_back(id + ": no successful run, not drawn.");
      continue;
    }
    rows.push_back(r);
  }
  if (one_recv && !rows.empty())
    fig.subtitle.insert(fig.subtitle.begin(), "received with " + rows[0].recv);
  return rows;
}

std::string runs_note(const std::vector<Row>& rows, const char* shape) {
  int lo = 1 << 30, hi = 0;
  for (const auto& r : rows) {
    int n = int(std::clamp(number(*r.json, {"gbps", "n"}).value_or(0), 0.0, 1e6));
    lo = std::min(lo, n), hi = std::max(hi, n);
  }
  std::string n = lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
  std::string s = std::string(shape) + ": median of the successful runs (n = " + n +
                  " per path); whiskers: min to max.";
  if (hi <= 1) s += " One run per path has no spread: use --repeat N.";
  return s;
}

struct BarFigure {
  const char* key;
  const char* name;
  int color;
};

// A bar panel of some figures per row; false when no row measured any of them.
bool bar_panel(const std::vector<Row>& rows, const std::string& title, const std::string& unit,
               std::initializer_list<BarFigure> figures, Figure& fig) {
  Panel p;
  p.title = title;
  p.kind = PanelKind::kBars;
  p.y.label = unit;
  for (const auto& r : rows) p.x.categories.push_back(r.label);
  for (const auto& f : figures) {
    Series s;
    s.name = f.name;
    s.color = f.color;
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (auto pt = spread_point(*rows[i].json, f.key, double(i))) s.points.push_back(*pt);
    if (!s.points.empty()) p.series.push_back(std::move(s));
  }
  if (p.series.empty()) return false;
  fit_axes(p);
  fig.panels.push_back(std::move(p));
  return true;
}

std::string compare_title(const std::string& what, const Json& doc) {
  Facts f = facts(doc);
  std::string runs;
  if (auto n = number(doc, {"compare", "repeat"})) runs = plural(*n, "round");
  if (!f.length.empty()) runs += (runs.empty() ? "" : " × ") + f.length;
  return what + ": " + join({f.host, runs, f.streams}, ", ");
}

}  // namespace

Expected<Figure> compare_figure(const Json& doc) {
  Figure fig;
  fig.title = compare_title("Send paths compared", doc);
  fig.subtitle = facts(doc).rest;
  std::vector<Row> rows = usable_rows(doc, fig);
  if (rows.empty()) return usage("the comparison has no path with a successful run to plot");
  bar_panel(rows, "Throughput received", "Gbit/s", {{"gbps", "Gbit/s", 0}}, fig);
  if (!bar_panel(rows, "CPU cost per GB moved", "CPU s/GB",
                 {{"sender_cpu_s_per_gb", "sender", 1}, {"receiver_cpu_s_per_gb", "receiver", 2}},
                 fig))
    fig.notes.push_back("CPU s/GB: not measured in this result (--cost off?), not drawn.");
  if (!bar_panel(
          rows, "CPU cycles per byte", "cycles/B",
          {{"sender_cycles_per_byte", "sender", 1}, {"receiver_cycles_per_byte", "receiver", 2}},
          fig))
    fig.notes.push_back(
        "Cycles per byte: not in this result (it needs a hardware PMU), not drawn.");
  fig.notes.insert(fig.notes.begin(), runs_note(rows, "Bars"));
  document_notes(doc, fig);
  return fig;
}

namespace {

struct Setting {
  std::string key, value;
  std::optional<double> numeric;
};

Setting parse_setting(const std::string& s) {
  auto eq = s.find('=');
  Setting out{s.substr(0, eq), eq == std::string::npos ? "" : s.substr(eq + 1), {}};
  char* end = nullptr;
  double v = std::strtod(out.value.c_str(), &end);
  if (!out.value.empty() && end && *end == 0 && std::isfinite(v)) out.numeric = v;
  return out;
}

// x of each swept value: the number itself, or the value's slot when any is not a number.
std::map<std::string, double> sweep_positions(const std::vector<Row>& rows, Axis& x) {
  bool numeric = true;
  std::vector<std::string> values;
  for (const auto& r : rows) {
    Setting s = parse_setting(r.nic);
    numeric &= s.numeric.has_value();
    if (std::find(values.begin(), values.end(), s.value) == values.end()) values.push_back(s.value);
  }
  std::map<std::string, double> pos;
  for (std::size_t i = 0; i < values.size(); ++i)
    pos[values[i]] = numeric ? *parse_setting("k=" + values[i]).numeric : double(i);
  if (!numeric) x.categories = values;
  return pos;
}

Panel sweep_panel(const std::vector<Row>& rows, const char* title, const char* unit,
                  const char* key) {
  Panel p;
  p.title = title;
  p.y.label = unit;
  p.x.label = parse_setting(rows[0].nic).key;
  auto pos = sweep_positions(rows, p.x);
  std::vector<std::string> paths;
  for (const auto& r : rows)
    if (std::find(paths.begin(), paths.end(), r.label) == paths.end()) paths.push_back(r.label);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    Series s;
    s.name = paths[i];
    s.color = int(i);
    s.markers = true;
    for (const auto& r : rows)
      if (r.label == paths[i])
        if (auto pt = spread_point(*r.json, key, pos[parse_setting(r.nic).value]))
          s.points.push_back(*pt);
    std::sort(s.points.begin(), s.points.end(),
              [](const Point& a, const Point& b) { return a.x < b.x; });
    if (!s.points.empty()) p.series.push_back(std::move(s));
  }
  fit_axes(p);
  return p;
}

}  // namespace

Expected<Figure> sweep_figure(const Json& doc) {
  Figure fig;
  std::vector<Row> rows = usable_rows(doc, fig);
  if (rows.empty()) return usage("the NIC sweep has no setting with a successful run to plot");
  std::string key = parse_setting(rows[0].nic).key;
  for (const auto& r : rows)
    if (parse_setting(r.nic).key != key)
      return usage("the rows sweep more than one NIC setting (" + key + " and " +
                   parse_setting(r.nic).key + "); plot one sweep at a time");
  bool any = false;
  for (const auto& r : rows) any |= spread_point(*r.json, "nic_interrupts_per_gb", 0).has_value();
  if (!any) return usage("the NIC sweep's rows carry no NIC interrupt figures (run it with --nic)");
  fig.title = compare_title("NIC sweep of " + key, doc);
  auto rest = facts(doc).rest;
  fig.subtitle.insert(fig.subtitle.end(), rest.begin(), rest.end());
  fig.panels.push_back(
      sweep_panel(rows, "NIC interrupts per GB", "interrupts/GB", "nic_interrupts_per_gb"));
  fig.panels.push_back(
      sweep_panel(rows, "Frames per interrupt", "frames/interrupt", "nic_frames_per_interrupt"));
  fig.notes.insert(fig.notes.begin(), runs_note(rows, "Points"));
  document_notes(doc, fig);
  return fig;
}

}  // namespace nicperf::plot
