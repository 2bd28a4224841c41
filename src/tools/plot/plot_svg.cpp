// The SVG view of a plot::Figure, and the axis arithmetic it rests on. Everything is inline
// (presentation attributes, no script, no external font or link), so the file renders alone.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "nicperf/tools/plot.hpp"

namespace nicperf::plot {

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (!std::isfinite(hi - lo)) lo = std::max(lo, -1e307), hi = std::min(hi, 1e307);
  if (hi - lo <= 1e-12 * std::max(1.0, std::fabs(hi))) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    hi += pad;
    if (lo != 0) lo -= pad;
  }
  double raw = (hi - lo) / std::max(1, target);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  double first = std::floor(lo / step + 1e-9) * step;
  std::vector<double> ticks;
  for (int k = 0; k < 100; ++k) {
    double t = first + k * step;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (t >= hi - step * 1e-9) break;
  }
  return ticks;
}

namespace {

// Decimals that show `step` exactly (2.5 needs one, 0.05 two).
int decimals_for(double step) {
  for (int d = 0; d < 6; ++d) {
    double scaled = step * std::pow(10.0, d);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) return d;
  }
  return 6;
}

std::string number_text(double v, int decimals) {
  char buf[64];
  // + 0.0: no "-0"; %g past 1e15, where %f would need more digits than the buffer has.
  if (std::fabs(v) >= 1e15)
    std::snprintf(buf, sizeof buf, "%.3g", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v + 0.0);
  std::string s = buf;
  return s == "-0" ? "0" : s;
}

}  // namespace

std::string format_tick(double value, double step) {
  if (!std::isfinite(value)) return "?";
  double a = std::max(std::fabs(value), std::fabs(step));
  if (a >= 1e7 && std::fabs(step) >= 1e5)
    return number_text(value / 1e6, decimals_for(step / 1e6)) + "M";
  if (a >= 1e4 && std::fabs(step) >= 100)
    return number_text(value / 1e3, decimals_for(step / 1e3)) + "k";
  return number_text(value, decimals_for(step));
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (u >= 0x20 || c == '\t' || c == '\n') out += c;  // XML 1.0 forbids the others
    }
  }
  return out;
}

void fit_axes(Panel& p) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = 0, ymax = 0;
  for (const auto& s : p.series)
    for (const auto& pt : s.points) {
      xmin = std::min(xmin, pt.x);
      xmax = std::max(xmax, pt.x);
      ymin = std::min({ymin, pt.y, pt.lo.value_or(0)});
      ymax = std::max({ymax, pt.y, pt.hi.value_or(0)});
    }
  for (const auto& b : p.bands) xmax = std::max(xmax, b.to);
  // Bars carry their value above them: leave room.
  auto y = nice_ticks(ymin, p.kind == PanelKind::kBars ? ymax * 1.1 : ymax);
  p.y.ticks = y;
  p.y.min = y.front();
  p.y.max = y.back();
  if (!p.x.categories.empty()) {
    p.x.ticks.clear();
    for (std::size_t i = 0; i < p.x.categories.size(); ++i) p.x.ticks.push_back(double(i));
    p.x.min = -0.5;
    p.x.max = double(p.x.categories.size()) - 0.5;
    return;
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1;
  auto x = nice_ticks(xmin, xmax, 6);
  // The x axis ends where the data does (a 2 s test ends at 2 s, not at the next tick).
  if (xmax - xmin > 1e-9 * std::max(1.0, std::fabs(xmax))) {
    double eps = (x[1] - x[0]) * 1e-6;
    std::erase_if(x, [&](double t) { return t < xmin - eps || t > xmax + eps; });
    p.x.min = xmin;
    p.x.max = xmax;
  } else {
    p.x.min = x.front();
    p.x.max = x.back();
  }
  p.x.ticks = x;
}

namespace {

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
                                    "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr const char* kInk = "#333333";
constexpr const char* kGrid = "#e6e6e6";

const char* colour(int i) { return i < 0 ? kInk : kPalette[i % 10]; }

// Coordinates: two decimals, and never NaN or inf whatever the data held.
std::string num(double v) {
  if (!std::isfinite(v)) v = 0;
  v = std::clamp(v, -1e6, 1e6);  // far off the canvas either way
  std::string s = number_text(v, 2);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// A width estimate: the SVG is not measured by a browser here, and sans-serif glyphs average
// about 0.6 em, so layouts keep that much room.
double text_width(std::string_view s, double px) {
  std::size_t chars = 0;
  for (char c : s) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return double(chars) * px * 0.6;
}

// Words joined by `sep` into lines no wider than `width`.
std::vector<std::string> wrap(const std::vector<std::string>& words, const std::string& sep,
                              double width, double px) {
  std::vector<std::string> lines;
  for (const auto& w : words) {
    if (!lines.empty() && text_width(lines.back() + sep + w, px) <= width)
      lines.back() += sep + w;
    else
      lines.push_back(w);
  }
  return lines;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < s.size()) {
    std::size_t sp = s.find(' ', at);
    if (sp == std::string::npos) sp = s.size();
    if (sp > at) words.push_back(s.substr(at, sp - at));
    at = sp + 1;
  }
  return words;
}

using Attrs = std::vector<std::pair<std::string, std::string>>;

// A tiny writer: elements nest, attribute values and text are escaped on the way in.
class Svg {
 public:
  void open(const std::string& tag, const Attrs& attrs) {
    start(tag, attrs);
    out_ += ">\n";
    open_.push_back(tag);
  }
  void close() {
    out_ += "</" + open_.back() + ">\n";
    open_.pop_back();
  }
  void leaf(const std::string& tag, const Attrs& attrs) {
    start(tag, attrs);
    out_ += "/>\n";
  }
  void text(double x, double y, std::string_view s, Attrs attrs = {}) {
    attrs.insert(attrs.begin(), {{"x", num(x)}, {"y", num(y)}});
    start("text", attrs);
    out_ += ">" + xml_escape(s) + "</text>\n";
  }
  void raw(const std::string& s) { out_ += s; }
  std::string finish() {
    while (!open_.empty()) close();
    return std::move(out_);
  }

 private:
  void start(const std::string& tag, const Attrs& attrs) {
    out_ += "<" + tag;
    for (const auto& [k, v] : attrs) out_ += " " + k + "=\"" + xml_escape(v) + "\"";
  }
  std::string out_;
  std::vector<std::string> open_;
};

void line(Svg& svg, double x1, double y1, double x2, double y2, const char* stroke,
          double width = 1, bool dashed = false) {
  Attrs a = {{"x1", num(x1)}, {"y1", num(y1)},    {"x2", num(x2)},
             {"y2", num(y2)}, {"stroke", stroke}, {"stroke-width", num(width)}};
  if (dashed) a.push_back({"stroke-dasharray", "6 4"});
  svg.leaf("line", a);
}

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

// Data to pixels for one panel's plot area.
struct Scale {
  Box area;
  const Panel* p;
  double inset = 0;  // keeps markers off the frame
  double x(double v) const {
    double span = p->x.max - p->x.min;
    double f = span > 0 ? (v - p->x.min) / span : 0.5;
    return area.x + inset + f * (area.w - 2 * inset);
  }
  double y(double v) const {
    double span = p->y.max - p->y.min;
    double f = span > 0 ? (v - p->y.min) / span : 0;
    return area.y + area.h - f * area.h;
  }
};

double tick_step(const Axis& a) { return a.ticks.size() > 1 ? a.ticks[1] - a.ticks[0] : 1; }

constexpr double kLegendRow = 16, kTickPx = 11, kLabelPx = 12;

std::vector<std::vector<const Series*>> legend_rows(const Panel& p, double width) {
  std::vector<std::vector<const Series*>> rows(1);
  double used = 0;
  for (const auto& s : p.series) {
    if (s.name.empty()) continue;
    double w = 26 + text_width(s.name, kLabelPx) + 14;
    if (used > 0 && used + w > width) rows.emplace_back(), used = 0;
    rows.back().push_back(&s);
    used += w;
  }
  return rows;
}

void draw_legend(Svg& svg, const Panel& p, double x0, double y0, double width) {
  double y = y0;
  for (const auto& row : legend_rows(p, width)) {
    double x = x0;
    for (const Series* s : row) {
      if (s->name.empty()) continue;
      if (p.kind == PanelKind::kBars || s->area) {
        svg.leaf("rect", {{"x", num(x + 4)},
                          {"y", num(y - 10)},
                          {"width", "12"},
                          {"height", "12"},
                          {"fill", colour(s->color)}});
      } else {
        line(svg, x, y - 4, x + 20, y - 4, colour(s->color), 2, s->dashed);
        if (s->markers)
          svg.leaf(
              "circle",
              {{"cx", num(x + 10)}, {"cy", num(y - 4)}, {"r", "3"}, {"fill", colour(s->color)}});
      }
      svg.text(x + 26, y, s->name, {{"font-size", num(kLabelPx)}, {"fill", kInk}});
      x += 26 + text_width(s->name, kLabelPx) + 14;
    }
    y += kLegendRow;
  }
}

// Category labels turn when they would run into each other.
bool turn_categories(const Panel& p, double plot_w) {
  double slot = plot_w / std::max<std::size_t>(1, p.x.categories.size());
  for (const auto& c : p.x.categories)
    if (text_width(c, kTickPx) > slot - 6) return true;
  return false;
}

double category_depth(const Panel& p) {
  double w = 0;
  for (const auto& c : p.x.categories) w = std::max(w, text_width(c, kTickPx));
  return w * 0.6 + 8;  // sin(35 degrees) of the longest, plus its height
}

void draw_axes(Svg& svg, const Panel& p, const Scale& sc, bool turned) {
  const Box& a = sc.area;
  double ystep = tick_step(p.y);
  for (double t : p.y.ticks) {
    double y = sc.y(t);
    line(svg, a.x, y, a.x + a.w, y, kGrid);
    line(svg, a.x - 4, y, a.x, y, kInk);
    svg.text(a.x - 7, y + 4, format_tick(t, ystep),
             {{"font-size", num(kTickPx)}, {"text-anchor", "end"}, {"fill", kInk}});
  }
  double bottom = a.y + a.h;
  for (std::size_t i = 0; i < p.x.ticks.size(); ++i) {
    double x = sc.x(p.x.ticks[i]);
    line(svg, x, bottom, x, bottom + 4, kInk);
    bool cat = !p.x.categories.empty();
    std::string label = cat ? p.x.categories[i] : format_tick(p.x.ticks[i], tick_step(p.x));
    Attrs attrs = {{"font-size", num(kTickPx)}, {"fill", kInk}};
    if (turned) {
      attrs.push_back({"text-anchor", "end"});
      attrs.push_back({"transform", "rotate(-35 " + num(x) + " " + num(bottom + 16) + ")"});
    } else {
      attrs.push_back({"text-anchor", "middle"});
    }
    svg.text(x, bottom + 16, label, attrs);
  }
  line(svg, a.x, a.y, a.x, bottom, kInk);
  line(svg, a.x, bottom, a.x + a.w, bottom, kInk);
}

void whisker(Svg& svg, double x, double lo, double hi, double cap, const char* stroke = kInk) {
  line(svg, x, lo, x, hi, stroke, 1.2);
  line(svg, x - cap, lo, x + cap, lo, stroke, 1.2);
  line(svg, x - cap, hi, x + cap, hi, stroke, 1.2);
}

std::string value_text(double v) {
  double a = std::fabs(v);
  int decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return a >= 1e4 ? format_tick(v, 1000) : number_text(v, decimals);
}

void draw_bars(Svg& svg, const Panel& p, const Scale& sc) {
  double slot = sc.area.w / std::max<std::size_t>(1, p.x.categories.size());
  double group = slot * 0.72;
  double bar = group / double(std::max<std::size_t>(1, p.series.size()));
  for (std::size_t s = 0; s < p.series.size(); ++s) {
    for (const auto& pt : p.series[s].points) {
      double cx = sc.x(pt.x) - group / 2 + (double(s) + 0.5) * bar;
      double top = sc.y(pt.y), base = sc.y(0);
      svg.leaf("rect", {{"x", num(cx - bar * 0.44)},
                        {"y", num(std::min(top, base))},
                        {"width", num(bar * 0.88)},
                        {"height", num(std::fabs(base - top))},
                        {"fill", colour(p.series[s].color)}});
      double label_y = top;
      if (pt.lo && pt.hi) {
        whisker(svg, cx, sc.y(*pt.lo), sc.y(*pt.hi), std::min(6.0, bar * 0.25));
        label_y = std::min(label_y, sc.y(*pt.hi));
      }
      std::string v = value_text(pt.y);
      if (text_width(v, 10) <= bar * 1.05)
        svg.text(cx, label_y - 4, v,
                 {{"font-size", "10"}, {"text-anchor", "middle"}, {"fill", kInk}});
    }
  }
}

void draw_lines(Svg& svg, const Panel& p, const Scale& sc) {
  for (const auto& b : p.bands) {
    double x1 = sc.x(b.from), x2 = sc.x(b.to);
    svg.leaf("rect", {{"x", num(x1)},
                      {"y", num(sc.area.y)},
                      {"width", num(std::max(0.0, x2 - x1))},
                      {"height", num(sc.area.h)},
                      {"fill", "#f0f0f0"}});
    svg.text((x1 + x2) / 2, sc.area.y + 14, b.label,
             {{"font-size", "10"}, {"text-anchor", "middle"}, {"fill", "#777777"}});
  }
  for (const auto& s : p.series) {
    std::string pts;
    for (const auto& pt : s.points) pts += num(sc.x(pt.x)) + "," + num(sc.y(pt.y)) + " ";
    if (!pts.empty()) pts.pop_back();
    if (s.area) {
      svg.leaf("polygon", {{"points", pts}, {"fill", colour(s.color)}, {"fill-opacity", "0.85"}});
      continue;
    }
    Attrs a = {{"points", pts},
               {"fill", "none"},
               {"stroke", colour(s.color)},
               {"stroke-width", s.faint    ? "1"
                                : s.dashed ? "1.6"
                                           : "2"},
               {"stroke-linejoin", "round"}};
    if (s.faint) a.push_back({"stroke-opacity", "0.6"});
    if (s.dashed) a.push_back({"stroke-dasharray", "6 4"});
    svg.leaf("polyline", a);
    for (const auto& pt : s.points) {
      if (pt.lo && pt.hi) whisker(svg, sc.x(pt.x), sc.y(*pt.lo), sc.y(*pt.hi), 4, colour(s.color));
      if (s.markers)
        svg.leaf("circle", {{"cx", num(sc.x(pt.x))},
                            {"cy", num(sc.y(pt.y))},
                            {"r", "3.5"},
                            {"fill", colour(s.color)}});
    }
  }
}

void draw_panel(Svg& svg, const Panel& p, Box cell) {
  if (!p.title.empty())
    svg.text(
        cell.x + cell.w / 2, cell.y + 16, p.title,
        {{"font-size", "14"}, {"font-weight", "bold"}, {"text-anchor", "middle"}, {"fill", kInk}});
  double ystep = tick_step(p.y);
  double label_w = 0;
  for (double t : p.y.ticks)
    label_w = std::max(label_w, text_width(format_tick(t, ystep), kTickPx));
  double left = cell.x + 24 + label_w + 10, right = cell.x + cell.w - 16;
  double legend_top = cell.y + 38;
  draw_legend(svg, p, left, legend_top, right - left);
  double legend_h = kLegendRow * double(legend_rows(p, right - left).size());
  Box area{left, legend_top + legend_h, right - left, 0};
  bool turned = !p.x.categories.empty() && turn_categories(p, area.w);
  double below = (turned ? category_depth(p) : 22) + (p.x.label.empty() ? 4 : 22);
  area.h = std::max(40.0, cell.y + cell.h - below - area.y);
  Scale sc{area, &p, 0};
  for (const auto& s : p.series)
    if (s.markers) sc.inset = 12;
  draw_axes(svg, p, sc, turned);
  if (p.kind == PanelKind::kBars)
    draw_bars(svg, p, sc);
  else
    draw_lines(svg, p, sc);
  double cy = area.y + area.h / 2;
  svg.text(cell.x + 14, cy, p.y.label,
           {{"font-size", num(kLabelPx)},
            {"text-anchor", "middle"},
            {"fill", kInk},
            {"transform", "rotate(-90 " + num(cell.x + 14) + " " + num(cy) + ")"}});
  if (!p.x.label.empty())
    svg.text(area.x + area.w / 2, cell.y + cell.h - 4, p.x.label,
             {{"font-size", num(kLabelPx)}, {"text-anchor", "middle"}, {"fill", kInk}});
}

}  // namespace

std::string render_svg(const Figure& f) {
  std::size_t n = std::max<std::size_t>(1, f.panels.size());
  std::size_t cols = f.one_column ? 1 : std::min<std::size_t>(n, 2), rows = (n + cols - 1) / cols;
  double width = cols == 1 ? 900 : 1000, cell_h = f.one_column && n > 1 ? 320 : 390;
  auto subtitle = wrap(f.subtitle, " · ", width - 40, kLabelPx);
  std::vector<std::string> notes;
  for (const auto& note : f.notes)
    for (auto& l : wrap(split_words(note), " ", width - 40, kTickPx)) notes.push_back(l);
  double header = 40 + 17 * double(subtitle.size()) + 8;
  double height = header + cell_h * double(rows) + 16 * double(notes.size()) + 14;
  Svg svg;
  svg.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  svg.open("svg", {{"xmlns", "http://www.w3.org/2000/svg"},
                   {"width", num(width)},
                   {"height", num(height)},
                   {"viewBox", "0 0 " + num(width) + " " + num(height)},
                   {"font-family", "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"}});
  svg.open("title", {});
  svg.raw(xml_escape(f.title) + "\n");
  svg.close();
  svg.leaf("rect", {{"width", "100%"}, {"height", "100%"}, {"fill", "#ffffff"}});
  // A long host name shrinks the title rather than run it off the edge.
  double title_px = std::clamp((width - 40) / std::max(1.0, text_width(f.title, 1)), 11.0, 18.0);
  svg.text(20, 30, f.title,
           {{"font-size", num(title_px)}, {"font-weight", "bold"}, {"fill", kInk}});
  for (std::size_t i = 0; i < subtitle.size(); ++i)
    svg.text(20, 52 + 17 * double(i), subtitle[i],
             {{"font-size", num(kLabelPx)}, {"fill", "#555555"}});
  double cell_w = (width - 20) / double(cols);
  for (std::size_t i = 0; i < f.panels.size(); ++i) {
    Box cell{10 + cell_w * double(i % cols), header + cell_h * double(i / cols), cell_w,
             cell_h - 10};
    draw_panel(svg, f.panels[i], cell);
  }
  double y = header + cell_h * double(rows) + 8;
  for (const auto& l : notes) {
    svg.text(20, y, l, {{"font-size", num(kTickPx)}, {"fill", "#555555"}});
    y += 16;
  }
  return svg.finish();
}

}  // namespace nicperf::plot
