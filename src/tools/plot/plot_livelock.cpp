// The receive-livelock chart of a --sweep-rate result: delivered against offered packet rate,
// one line per NIC setting, beside the receiving host's NET_RX and application CPU.
#include <algorithm>
#include <map>

#include "tools/plot/plot_doc.hpp"

namespace nicperf::plot {
namespace {

struct SweepLine {
  std::string setting;
  std::vector<const Json*> points;
};

std::vector<SweepLine> lines_of(const Json& points) {
  std::vector<SweepLine> lines;
  for (const auto& p : points) {
    if (!p.is_object() || !number(p, {"offered_pps"}) || !number(p, {"delivered_pps"})) continue;
    if (auto code = number(p, {"exit_code"}); code && *code != 0) continue;
    std::string setting = text(p, {"nic_setting"});
    auto it = std::find_if(lines.begin(), lines.end(),
                           [&](const SweepLine& l) { return l.setting == setting; });
    if (it == lines.end()) it = lines.insert(lines.end(), {setting, {}});
    it->points.push_back(&p);
  }
  return lines;
}

Series series_of(const SweepLine& line, int color, const char* key, const std::string& name) {
  Series s;
  s.name = name;
  s.color = color;
  s.markers = true;
  for (const Json* p : line.points)
    if (auto y = number(*p, {key})) s.points.push_back({*number(*p, {"offered_pps"}), *y, {}, {}});
  std::sort(s.points.begin(), s.points.end(),
            [](const Point& a, const Point& b) { return a.x < b.x; });
  return s;
}

std::string line_name(const SweepLine& l) { return l.setting.empty() ? "NIC as set" : l.setting; }

Panel delivered_panel(const std::vector<SweepLine>& lines) {
  Panel p;
  p.title = "Delivered vs offered";
  p.x.label = "offered (packets/s)";
  p.y.label = "delivered to the application (packets/s)";
  double top = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Series s = series_of(lines[i], int(i), "delivered_pps", line_name(lines[i]));
    for (const auto& pt : s.points) top = std::max(top, pt.x);
    if (!s.points.empty()) p.series.push_back(std::move(s));
  }
  // What a receiver that never drops would deliver.
  Series ideal;
  ideal.name = "delivered = offered";
  ideal.color = -1;
  ideal.dashed = true;
  ideal.points = {{0, 0, {}, {}}, {top, top, {}, {}}};
  p.series.push_back(std::move(ideal));
  fit_axes(p);
  return p;
}

Panel cpu_panel(const std::vector<SweepLine>& lines) {
  Panel p;
  p.title = "Receiving host CPU";
  p.x.label = "offered (packets/s)";
  p.y.label = "% of one CPU";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Series rx = series_of(lines[i], int(i), "net_rx_cpu_percent", line_name(lines[i]) + ": NET_RX");
    Series app =
        series_of(lines[i], int(i), "receiver_cpu_percent", line_name(lines[i]) + ": application");
    app.dashed = true;
    if (!rx.points.empty()) p.series.push_back(std::move(rx));
    if (!app.points.empty()) p.series.push_back(std::move(app));
  }
  if (!p.series.empty()) fit_axes(p);
  return p;
}

}  // namespace

Expected<Figure> livelock_figure(const Json& doc) {
  const Json* points = at(doc, {"sweep", "points"});
  if (!points || !points->is_array()) return usage("the sweep has no points to plot");
  auto lines = lines_of(*points);
  if (lines.empty()) return usage("the sweep has no step that ran successfully to plot");
  Figure fig;
  Facts f = facts(doc);
  std::string key = text(doc, {"sweep", "nic_key"});
  fig.title = "Receive livelock: " + join({f.host, f.streams, f.length + " per step"}, ", ");
  fig.subtitle = f.rest;
  fig.panels.push_back(delivered_panel(lines));
  if (Panel cpu = cpu_panel(lines); !cpu.series.empty())
    fig.panels.push_back(std::move(cpu));
  else
    fig.notes.push_back("No CPU figures: the receiving side traced no softirqs (--cost full).");
  fig.notes.push_back(
      "Each point is one test at a fixed offered rate (-u, paced). Below the dashed line, the "
      "rest was dropped: see the sweep's table for where.");
  if (!key.empty()) fig.notes.push_back("One line per " + key + " setting of nicperf-nicd.");
  document_notes(doc, fig);
  return fig;
}

}  // namespace nicperf::plot
