// The single-test chart's CPU panels: under the throughput, each side's stream-thread CPU per
// interval, stacked user, kernel, softirq, hardirq, so a dip and the CPU behind it share a page.
#include <algorithm>
#include <array>

#include "tools/plot/plot_doc.hpp"

namespace nicperf::plot {
namespace {

struct Layer {
  const char* key;
  const char* name;
  int color;
};
// Bottom to top: the thread's own time first, interrupt time stacked on it.
constexpr std::array<Layer, 4> kLayers = {{{"user_percent", "user", 0},
                                           {"kernel_percent", "kernel", 1},
                                           {"softirq_percent", "softirq", 3},
                                           {"hardirq_percent", "hardirq", 4}}};

struct CpuStep {
  double start = 0, end = 0;
  std::array<std::optional<double>, kLayers.size()> values;
};

// One side's intervals, on the throughput panel's time axis (after any omitted seconds).
std::vector<CpuStep> side_steps(const Json& intervals, const char* side, double shift) {
  std::vector<CpuStep> steps;
  for (const auto& iv : intervals) {
    const Json* cpu = at(iv, {"cpu", side});
    auto start = cpu ? number(*cpu, {"start"}) : std::nullopt;
    auto end = cpu ? number(*cpu, {"end"}) : std::nullopt;
    if (!start || !end || *end <= *start) continue;
    CpuStep s{*start + shift, *end + shift, {}};
    for (std::size_t k = 0; k < kLayers.size(); ++k)
      if (auto v = number(*cpu, {kLayers[k].key}); v && *v >= 0) s.values[k] = *v;
    if (s.values[0] && s.values[1]) steps.push_back(s);
  }
  std::sort(steps.begin(), steps.end(),
            [](const CpuStep& a, const CpuStep& b) { return a.start < b.start; });
  return steps;
}

bool layer_present(const std::vector<CpuStep>& steps, std::size_t k) {
  return std::any_of(steps.begin(), steps.end(),
                     [k](const CpuStep& s) { return s.values[k].has_value(); });
}

// Layer k as a closed step outline: its top forward in time, its base (the layers under it)
// back.
Series layer_series(const std::vector<CpuStep>& steps, std::size_t k) {
  Series s;
  s.name = kLayers[k].name;
  s.color = kLayers[k].color;
  s.area = true;
  auto height = [&](const CpuStep& st, std::size_t upto) {
    double h = 0;
    for (std::size_t j = 0; j < upto; ++j) h += st.values[j].value_or(0);
    return h;
  };
  for (const auto& st : steps) {
    s.points.push_back({st.start, height(st, k + 1), {}, {}});
    s.points.push_back({st.end, height(st, k + 1), {}, {}});
  }
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    s.points.push_back({it->end, height(*it, k), {}, {}});
    s.points.push_back({it->start, height(*it, k), {}, {}});
  }
  return s;
}

Panel side_panel(const std::vector<CpuStep>& steps, const std::string& side,
                 const Panel& throughput) {
  Panel p;
  p.title = side + " CPU (stream threads)";
  p.y.label = "% of one CPU";
  for (std::size_t k = 0; k < kLayers.size(); ++k)
    if (layer_present(steps, k)) p.series.push_back(layer_series(steps, k));
  fit_axes(p);
  // The same time axis as the throughput above it, so a dip lines up with its CPU.
  p.x = throughput.x;
  p.bands = throughput.bands;
  return p;
}

}  // namespace

void add_cpu_panels(const Json& doc, Figure& fig) {
  const Json* intervals = at(doc, {"intervals"});
  if (!intervals || !intervals->is_array() || fig.panels.empty()) return;
  const Panel& throughput = fig.panels.front();
  double shift = throughput.bands.empty() ? 0 : throughput.bands.front().to;
  std::vector<std::string> traced, untraced;
  std::vector<Panel> panels;
  for (const char* side : {"client", "server"}) {
    auto steps = side_steps(*intervals, side, shift);
    if (steps.empty()) continue;
    panels.push_back(side_panel(steps, side, throughput));
    (layer_present(steps, 2) ? traced : untraced).push_back(side);
  }
  if (panels.empty()) return;
  for (auto& p : panels) fig.panels.push_back(std::move(p));
  fig.one_column = true;
  fig.notes.push_back(
      "CPU panels: each side's stream threads, % of one CPU per interval, stacked user, kernel"
      " (tick-sampled utime/stime), softirq and hardirq (traced on top of them).");
  if (!untraced.empty())
    fig.notes.push_back("The " + join(untraced, " and ") +
                        " CPU shows user and kernel only: softirq and hardirq are traced at"
                        " --cost full alone.");
  bool server_shown = fig.panels.back().title.rfind("server", 0) == 0;
  if (!server_shown && !text(doc, {"start", "connecting_to", "host"}).empty())
    fig.notes.push_back(
        "The server sent no per-interval CPU (an older nicperf or a stock iperf3): its panel "
        "is missing.");
}

}  // namespace nicperf::plot
