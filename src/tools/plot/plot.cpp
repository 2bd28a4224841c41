// `nicperf plot`: which chart a saved result gets, read from a -J or --json-stream file; the
// charts are built in plot_charts.cpp and drawn in plot_svg.cpp.
#include "nicperf/tools/plot.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "nicperf/tools/command.hpp"
#include "nicperf/tools/saved_result.hpp"
#include "nicperf/util/units.hpp"
#include "tools/plot/plot_doc.hpp"

namespace nicperf::plot {

// "2", "0.5": a duration without trailing zeros.
std::string short_number(double v) {
  if (std::fabs(v) >= 1e12) return format_tick(v, v);
  std::string s = fixed(v, 3);
  while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) s.pop_back();
  return s;
}

std::string plural(double n, const std::string& word) {
  return short_number(n) + " " + word + (n == 1 ? "" : "s");
}

// The headline facts of the test: where to, what was sent, for how long.
Facts facts(const Json& doc) {
  Facts f;
  static const Json kNone = Json::object();
  const Json* spec = at(doc, {"start", "test_spec"});
  const Json& s = spec ? *spec : kNone;
  if (auto host = text(doc, {"start", "connecting_to", "host"}); !host.empty())
    f.host = host;
  else if (auto peer = text(doc, {"start", "accepted_connection", "host"}); !peer.empty())
    f.host = "server, client " + peer;
  if (auto port = text(doc, {"start", "connecting_to", "port"}); !port.empty())
    f.rest.push_back("port " + port);
  f.paths = text(s, {"send_mode"}) + " → " + text(s, {"recv_mode"});
  if (auto n = number(s, {"streams"}))
    f.streams = plural(*n, "stream") + (text(s, {"direction"}) == "bidir" ? " each way" : "");
  if (auto bytes = number(s, {"bytes"}); bytes && *bytes > 0)
    f.length = format_bytes(*bytes);
  else if (auto d = number(s, {"duration"}))
    f.length = short_number(*d) + " s";
  if (auto d = text(s, {"direction"}); !d.empty() && d != "normal") f.rest.push_back(d);
  if (auto b = number(s, {"block_len"})) f.rest.push_back(format_bytes(*b) + " blocks");
  if (auto o = number(s, {"omit"}); o && *o > 0) f.rest.push_back("-O " + short_number(*o) + " s");
  if (auto c = text(s, {"cost"}); !c.empty()) f.rest.push_back("cost " + c);
  if (auto h = text(doc, {"context", "hostname"}); !h.empty()) f.rest.push_back("on " + h);
  if (auto k = text(doc, {"context", "kernel"}); !k.empty()) f.rest.push_back("kernel " + k);
  if (auto t = text(doc, {"start", "timestamp", "time"}); !t.empty()) f.rest.push_back(t);
  if (auto v = text(doc, {"context", "nicperf_version"}); !v.empty())
    f.rest.push_back("nicperf " + v);
  return f;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts)
    if (!p.empty()) out += (out.empty() ? "" : sep) + p;
  return out;
}

// Notes every kind shares: a run that was cut short, a slow build.
void document_notes(const Json& doc, Figure& f) {
  if (flag(doc, "interrupted", false))
    f.notes.push_back("The test was interrupted: the figures cover what ran before.");
  if (auto e = text(doc, {"error"}); !e.empty()) f.notes.push_back("The test reported: " + e);
  if (auto w = text(doc, {"context", "build_warning"}); !w.empty())
    f.notes.push_back("Warning: " + w + ".");
}

Expected<PlotKind> plot_kind(const Json& doc) {
  if (!doc.is_object()) return usage("not a nicperf -J result (not a JSON object)");
  if (doc.contains("sweep")) return PlotKind::kLivelock;
  if (const Json* rows = at(doc, {"compare", "rows"}); rows && rows->is_array()) {
    if (rows->empty()) return usage("the comparison has no rows to plot");
    for (const auto& r : *rows)
      if (!text(r, {"nic_setting"}).empty()) return PlotKind::kNicSweep;
    return PlotKind::kCompare;
  }
  const Json* intervals = at(doc, {"intervals"});
  const Json* streams = at(doc, {"end", "streams"});
  if ((intervals && intervals->is_array() && !intervals->empty()) ||
      (streams && streams->is_array() && !streams->empty()))
    return PlotKind::kSingle;
  if (doc.contains("error"))
    return usage("the result holds no measurement: the test failed (" + text(doc, {"error"}) + ")");
  return usage("not a nicperf -J result (no intervals, end.streams or compare section)");
}

Expected<Figure> build_figure(const Json& doc) {
  auto kind = plot_kind(doc);
  if (!kind) return kind.error();
  switch (*kind) {
    case PlotKind::kSingle:
      return single_figure(doc);
    case PlotKind::kCompare:
      return compare_figure(doc);
    case PlotKind::kNicSweep:
      return sweep_figure(doc);
    case PlotKind::kLivelock:
      return livelock_figure(doc);
  }
  return usage("unknown result kind");
}

}  // namespace nicperf::plot

namespace nicperf {
namespace {

Expected<std::string> read_input(const std::string& path) {
  if (path != "-") return read_saved_text(path);
  std::stringstream ss;
  ss << std::cin.rdbuf();
  return ss.str();
}

// --profile-out's folded stacks, not a JSON result: the first character says which.
bool is_folded(const std::string& content) {
  auto first = content.find_first_not_of(" \t\r\n");
  return first != std::string::npos && content[first] != '{' && content[first] != '[';
}

Expected<std::string> flame_file(const std::string& path, const std::string& content,
                                 const std::string& base_path) {
  std::string title = "Flame graph: " + path;
  if (base_path.empty()) return plot::flame_svg(content, nullptr, title);
  auto base = read_saved_text(base_path);
  if (!base) return base.error();
  return plot::flame_svg(content, &*base, "Differential flame graph: " + path + " vs " + base_path);
}

Expected<std::string> plot_file(const std::string& path, const std::string& base_path) {
  auto content = read_input(path);
  if (!content) return content.error();
  if (is_folded(*content) || !base_path.empty()) {
    auto svg = flame_file(path, *content, base_path);
    if (!svg) return Error{Errc::kUsage, path + ": " + svg.error().message};
    return svg;
  }
  auto doc = parse_saved_result(*content, path);
  if (!doc) return doc.error();
  // The builders check every field they read; this is the net under a shape nobody foresaw.
  Expected<plot::Figure> fig = Error{Errc::kUsage, "unreadable"};
  try {
    fig = plot::build_figure(*doc);
  } catch (const Json::exception& e) {
    return Error{Errc::kUsage, path + ": not a nicperf result of a known shape (" + e.what() + ")"};
  }
  if (!fig) return Error{Errc::kUsage, path + ": " + fig.error().message};
  return plot::render_svg(*fig);
}

}  // namespace

int run_plot_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app("nicperf plot: a saved -J result drawn as a self-contained SVG", "nicperf plot");
  std::string input, output, base;
  app.add_option("result", input,
                 "RESULT.json: a -J or --json-stream output, or a folded profile (- for stdin)")
      ->required();
  app.add_option("-o,--output", output, "FILE.svg to write (- for standard output)")->required();
  app.add_option(
      "--base", base,
      "with a folded profile: a second one (BASE.folded) for a differential flame graph");
  app.footer(
      "A single test: throughput per stream over time. --compare/--repeat: Gbit/s and each\n"
      "side's CPU s/GB (and cycles per byte when measured) per path, median with min-max\n"
      "whiskers. --compare-nic: NIC interrupts per GB and frames per interrupt against the\n"
      "swept setting, one line per path. A folded profile (--profile-out): a flame graph;\n"
      "with --base, a differential one.");
  if (auto done = parse_subcommand(app, "plot", args, out, err)) return *done;
  auto svg = plot_file(input, base);
  if (!svg) {
    err << "nicperf: error: " << svg.error().message << "\n";
    return exit_code(svg.error().code);
  }
  if (output == "-") {
    out << *svg;
    return 0;
  }
  std::ofstream file(output, std::ios::binary | std::ios::trunc);
  if (!(file << *svg) || !file.flush()) {
    err << "nicperf: error: " << errno_text("cannot write '" + output + "'", errno) << "\n";
    return exit_code(Errc::kUsage);
  }
  return 0;
}

}  // namespace nicperf
