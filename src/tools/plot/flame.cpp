// Flame graphs from --profile-out's folded stacks: one profile (frames coloured by where they
// run: user, kernel, softirq, hardirq), or the differential of two (frames as wide as in the
// first, coloured by which profile spends the larger share there).
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "nicperf/profile/profile.hpp"
#include "nicperf/tools/plot.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf::plot {
namespace {

constexpr double kWidth = 1000, kMargin = 10, kRow = 16, kTop = 44, kCharPx = 6.6;
constexpr std::size_t kMaxDepth = 200;

struct Node {
  std::uint64_t a = 0, b = 0;
  std::map<std::string, Node> children;  // by name, as flame graphs order them
};

// skip_side: a differential compares the stacks below each file's side frame ("client",
// "server"), so two sides' or two paths' profiles line up.
Expected<std::uint64_t> add_folded(const std::string& text, Node& root, bool base, bool skip_side) {
  std::istringstream in(text);
  std::string line;
  std::uint64_t total = 0;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    char* end = nullptr;
    std::uint64_t n =
        space == std::string::npos ? 0 : std::strtoull(line.c_str() + space + 1, &end, 10);
    if (space == std::string::npos || !end || *end != '\0' || end == line.c_str() + space + 1)
      return usage("line " + std::to_string(number) + " is not 'frame;frame;... count'");
    total += n;
    Node* node = &root;
    (base ? node->b : node->a) += n;
    std::istringstream frames(line.substr(0, space));
    std::string f;
    if (skip_side) std::getline(frames, f, ';');
    for (std::size_t depth = 0; std::getline(frames, f, ';') && depth < kMaxDepth; ++depth) {
      node = &node->children[f];
      (base ? node->b : node->a) += n;
    }
  }
  if (total == 0) return usage("no samples in the folded profile");
  return total;
}

bool is_kernel(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, "_[k]") == 0;
}
std::string shown(const std::string& name) {
  return is_kernel(name) ? name.substr(0, name.size() - 4) : name;
}

std::string rgb(int r, int g, int b) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r & 255, g & 255, b & 255);
  return buf;
}

// Stable per name, so one function keeps its shade across a graph.
int jitter(const std::string& name) {
  unsigned h = 2166136261u;
  for (char c : name) h = (h ^ unsigned(char(c))) * 16777619u;
  return int(h % 40);
}

std::string group_colour(FrameGroup g, const std::string& name) {
  int j = jitter(name);
  switch (g) {
    case FrameGroup::kUser:
      return rgb(120 + j, 200, 120);
    case FrameGroup::kKernel:
      return rgb(240, 150 + j, 60);
    case FrameGroup::kSoftirq:
      return rgb(170 + j, 130, 220);
    case FrameGroup::kHardirq:
      return rgb(220, 70 + j, 70);
  }
  return "#cccccc";
}

// Red where the first profile spends the larger share, blue where the base does.
std::string delta_colour(double delta, double max_abs) {
  double t = max_abs > 0 ? std::min(1.0, std::fabs(delta) / max_abs) : 0;
  int fade = int(235 - 175 * t);
  return delta >= 0 ? rgb(245, fade, fade) : rgb(fade, fade, 245);
}

struct Drawer {
  std::string out;
  double scale = 0;  // px per sample
  std::uint64_t total_a = 0, total_b = 0;
  bool diff = false;
  double max_abs = 0;
  std::size_t depth = 0, frames = 0;

  double delta(const Node& n) const {
    return double(n.a) / double(total_a) - (diff ? double(n.b) / double(total_b) : 0);
  }
  void measure(const Node& n) {
    max_abs = std::max(max_abs, std::fabs(delta(n)));
    for (const auto& [name, c] : n.children) measure(c);
  }
  void draw(const std::string& name, const Node& n, double x, std::size_t level, FrameGroup g) {
    double w = double(n.a) * scale;
    if (w < 0.3) return;  // below a pixel's third: invisible anyway
    if (is_kernel(name)) {
      std::string f = shown(name);
      if (is_hardirq_entry(f))
        g = FrameGroup::kHardirq;
      else if (is_softirq_entry(f))
        g = FrameGroup::kSoftirq;
      else if (g == FrameGroup::kUser)
        g = FrameGroup::kKernel;
    }
    double y = kTop + double(level) * kRow;
    depth = std::max(depth, level + 1);
    ++frames;
    std::string title = shown(name) + " (" + std::to_string(n.a) + " samples, " +
                        fixed(100.0 * double(n.a) / double(total_a), 2) + "%";
    if (diff)
      title += "; base " + fixed(100.0 * double(n.b) / double(total_b), 2) + "%, difference " +
               (delta(n) >= 0 ? "+" : "") + fixed(100 * delta(n), 2) + " points";
    title += ")";
    std::string fill = diff ? delta_colour(delta(n), max_abs) : group_colour(g, name);
    out += "<g><title>" + xml_escape(title) + "</title><rect x=\"" + fixed(x, 2) + "\" y=\"" +
           fixed(y, 1) + "\" width=\"" + fixed(std::max(w - 0.5, 0.1), 2) + "\" height=\"" +
           fixed(kRow - 1, 1) + "\" fill=\"" + fill + "\" rx=\"2\"/>";
    std::size_t chars = std::size_t(std::max(0.0, (w - 6) / kCharPx));
    if (chars >= 3) {
      std::string label = shown(name);
      if (label.size() > chars) label = label.substr(0, chars - 2) + "..";
      out += "<text x=\"" + fixed(x + 3, 2) + "\" y=\"" + fixed(y + kRow - 4, 1) +
             "\" font-size=\"11\" fill=\"#000000\">" + xml_escape(label) + "</text>";
    }
    out += "</g>\n";
    for (const auto& [child, c] : n.children) {
      draw(child, c, x, level + 1, g);
      x += double(c.a) * scale;
    }
  }
};

}  // namespace

Expected<std::string> flame_svg(const std::string& folded, const std::string* base,
                                const std::string& title) {
  Node root;
  auto total_a = add_folded(folded, root, false, base != nullptr);
  if (!total_a) return total_a.error();
  Drawer d;
  d.total_a = *total_a;
  if (base) {
    auto total_b = add_folded(*base, root, true, true);
    if (!total_b) return Error{Errc::kUsage, "the base profile: " + total_b.error().message};
    d.total_b = *total_b;
    d.diff = true;
  }
  d.scale = (kWidth - 2 * kMargin) / double(d.total_a);
  d.measure(root);
  d.draw("all", root, kMargin, 0, FrameGroup::kUser);
  double height = kTop + double(d.depth) * kRow + 30;
  std::string legend =
      d.diff ? "width: the first profile's samples; red: it spends the larger share there, "
               "blue: the base does (the deeper the colour, the larger the difference)"
             : "green: user, orange: kernel, purple: softirq, red: hardirq; width: samples";
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(kWidth, 0) + "\" height=\"" +
         fixed(height, 0) + "\" viewBox=\"0 0 " + fixed(kWidth, 0) + " " + fixed(height, 0) +
         "\" font-family=\"Verdana, sans-serif\">\n<rect x=\"0\" y=\"0\" " +
         "width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<text x=\"" + fixed(kWidth / 2, 0) +
         "\" y=\"22\" font-size=\"15\" font-weight=\"bold\" text-anchor=\"middle\" " +
         "fill=\"#222222\">" + xml_escape(title) + "</text>\n<text x=\"" + fixed(kWidth / 2, 0) +
         "\" y=\"38\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555555\">" +
         xml_escape(legend + " (" + std::to_string(d.total_a) + " samples)") + "</text>\n" + d.out +
         "</svg>\n";
}

}  // namespace nicperf::plot
