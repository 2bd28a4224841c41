#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "nicperf/tools/plot.hpp"
#include "nicperf/tools/saved_result.hpp"
#include "panel_names.hpp"

using namespace nicperf;
using namespace nicperf::plot;
using plot_test::names;

namespace {

// Enough XML to catch a broken writer: one root, tags nest and close, entities are known ones,
// quotes pair up. Returns "" or what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> open;
  std::size_t at = 0;
  int roots = 0;
  if (s.rfind("<?xml", 0) == 0) at = s.find("?>") + 2;
  while (at < s.size()) {
    std::size_t lt = s.find('<', at);
    std::string text = s.substr(at, lt == std::string::npos ? std::string::npos : lt - at);
    if (text.find('>') != std::string::npos) return "a bare '>' in text";
    for (std::size_t amp = text.find('&'); amp != std::string::npos; amp = text.find('&', amp + 1))
      if (!std::regex_search(text.substr(amp), std::regex("^&(amp|lt|gt|quot|apos);")))
        return "an unknown entity in text";
    if (lt == std::string::npos) break;
    std::size_t gt = s.find('>', lt);
    if (gt == std::string::npos) return "an unclosed tag";
    std::string tag = s.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "a '<' inside a tag";
    if (std::count(tag.begin(), tag.end(), '"') % 2) return "unpaired quotes in <" + tag + ">";
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return "</" + tag.substr(1) + "> closes nothing";
      open.pop_back();
    } else {
      std::string name = tag.substr(0, tag.find_first_of(" />"));
      if (open.empty()) ++roots;
      if (tag.back() != '/') open.push_back(name);
    }
    at = gt + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return roots == 1 ? "" : "not exactly one root element";
}

// Every coordinate attribute is a plain number list: no NaN, no inf.
std::string bad_coordinate(const std::string& svg) {
  std::regex attr(R"re(\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|viewBox)="([^"]*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), attr); it != std::sregex_iterator();
       ++it) {
    std::string v = (*it)[2];
    if (v == "100%") continue;
    if (!std::regex_match(v, std::regex(R"([-0-9., ]+)"))) return (*it)[1].str() + "=" + v;
  }
  return "";
}

void check_svg(const std::string& svg) {
  CHECK(xml_problem(svg) == "");
  CHECK(bad_coordinate(svg) == "");
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("href") == std::string::npos);
}

Json interval(double from, double to, std::vector<double> gbps, bool omitted = false) {
  Json streams = Json::array();
  double sum = 0;
  for (std::size_t i = 0; i < gbps.size(); ++i) {
    streams.push_back({{"socket", i + 1},
                       {"start", from},
                       {"end", to},
                       {"bits_per_second", gbps[i] * 1e9},
                       {"sender", true},
                       {"omitted", omitted}});
    sum += gbps[i];
  }
  return {{"streams", streams},
          {"sum",
           {{"start", from},
            {"end", to},
            {"bits_per_second", sum * 1e9},
            {"sender", true},
            {"omitted", omitted}}}};
}

Json single_doc(const std::string& host = "10.0.0.2") {
  return {
      {"start",
       {{"connecting_to", {{"host", host}, {"port", 5201}}},
        {"test_spec",
         {{"streams", 2},
          {"duration", 3.0},
          {"send_mode", "write"},
          {"recv_mode", "read"},
          {"direction", "normal"},
          {"block_len", 131072}}}}},
      {"intervals", {interval(0, 1, {5, 6}), interval(1, 2, {5.5, 6.5}), interval(2, 3, {4, 7})}},
      {"end", {{"streams", Json::array()}}},
      {"context", {{"hostname", "box"}, {"kernel", "6.1"}}}};
}

Json spread(double median, int n = 3) {
  Json j = {
      {"n", n}, {"median", median}, {"mean", median}, {"min", median * 0.9}, {"max", median * 1.2}};
  if (n >= 2) j["ci95"] = median * 0.1;
  return j;
}

Json compare_row(const std::string& send, double gbps, const std::string& nic = "") {
  Json j = {{"send_mode", send},
            {"recv_mode", "read"},
            {"failures", 0},
            {"gbps", spread(gbps)},
            {"copied_share", nullptr},
            {"sender_cpu_s_per_gb", spread(0.3)},
            {"receiver_cpu_s_per_gb", spread(0.2)},
            {"sender_softirq_share", nullptr},
            {"receiver_softirq_share", nullptr}};
  if (!nic.empty()) {
    j["nic_setting"] = nic;
    double usecs = std::stod(nic.substr(nic.find('=') + 1));
    j["nic_interrupts_per_gb"] = spread(80000 / (1 + usecs / 10));
    j["nic_frames_per_interrupt"] = spread(2 + usecs / 8);
  }
  return j;
}

Json figure_compare_doc(std::vector<Json> rows) {
  return {{"start",
           {{"connecting_to", {{"host", "10.0.0.2"}, {"port", 5201}}},
            {"test_spec", {{"streams", 1}, {"duration", 1.0}, {"direction", "normal"}}}}},
          {"compare", {{"repeat", 3}, {"runs", Json::array()}, {"rows", rows}}},
          {"context", Json::object()}};
}

std::string error_of(const Json& doc) {
  auto f = build_figure(doc);
  REQUIRE_FALSE(f);
  CHECK(f.error().code == Errc::kUsage);
  CHECK(f.error().message.find('\n') == std::string::npos);
  return f.error().message;
}

}  // namespace

TEST_CASE("plot: nice ticks cover the range in steps of 1, 2, 2.5 or 5 times a power of ten") {
  CHECK(nice_ticks(0, 14.2) == std::vector<double>{0, 5, 10, 15});
  CHECK(nice_ticks(0, 100) == std::vector<double>{0, 20, 40, 60, 80, 100});
  CHECK(nice_ticks(0, 2, 6) == std::vector<double>{0, 0.5, 1, 1.5, 2});
  for (auto [lo, hi] : {std::pair{0.0, 0.32},
                        {0.0, 123456.0},
                        {3.0, 7.5},
                        {-1e308, 1e308},
                        {-2.0, 9.0},
                        {0.0, 1e-7},
                        {17.0, 17.0},
                        {0.0, 0.0},
                        {NAN, INFINITY}}) {
    CAPTURE(lo);
    CAPTURE(hi);
    auto t = nice_ticks(lo, hi);
    REQUIRE(t.size() >= 2);
    CHECK(t.size() <= 12);
    if (std::isfinite(hi - lo)) {  // a wider range is clamped to one that has a width
      CHECK(t.front() <= lo);
      CHECK(t.back() >= hi);
    }
    double step = t[1] - t[0];
    double norm = step / std::pow(10.0, std::floor(std::log10(step)));
    bool nice = false;
    for (double n : {1.0, 2.0, 2.5, 5.0, 10.0}) nice |= std::fabs(norm - n) < 1e-6;
    CHECK(nice);
    for (double v : t) CHECK(std::isfinite(v));
  }
}

TEST_CASE("plot: tick labels show what the step needs") {
  CHECK(format_tick(2.5, 2.5) == "2.5");
  CHECK(format_tick(10, 5) == "10");
  CHECK(format_tick(0.30000000000000004, 0.1) == "0.3");
  CHECK(format_tick(0.05, 0.05) == "0.05");
  CHECK(format_tick(-0.0, 1) == "0");
  CHECK(format_tick(125000, 25000) == "125k");
  CHECK(format_tick(12500, 2500) == "12.5k");
  CHECK(format_tick(1.5e7, 5e6) == "15M");
  CHECK(format_tick(NAN, 1) == "?");
}

TEST_CASE("plot: text from the JSON is escaped for XML") {
  CHECK(xml_escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
  CHECK(xml_escape("rx-usecs=50 → µs") == "rx-usecs=50 → µs");
  CHECK(xml_escape(std::string("a\x01\x1f"
                               "b\tc",
                               6)) == "ab\tc");

  Json doc = single_doc("<script>alert('x')</script> & \"friends\"");
  doc["context"]["kernel"] = "6.1]]><evil/>";
  auto f = build_figure(doc);
  REQUIRE(f);
  std::string svg = render_svg(*f);
  check_svg(svg);
  CHECK(svg.find("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;friends&quot;") !=
        std::string::npos);
  CHECK(svg.find("<evil") == std::string::npos);
}

TEST_CASE("plot: a single test is throughput per stream over time") {
  Json doc = single_doc();
  REQUIRE(plot_kind(doc));
  CHECK(*plot_kind(doc) == PlotKind::kSingle);
  auto f = build_figure(doc);
  REQUIRE(f);
  REQUIRE(f->panels.size() == 1);
  const Panel& p = f->panels[0];
  CHECK(names(p) == std::vector<std::string>{"stream 1", "stream 2", "sum"});
  CHECK(p.y.label == "Gbit/s");
  CHECK(p.y.min == 0);
  CHECK(p.y.max >= 12);  // the sum reaches 12 Gbit/s
  CHECK(p.x.min == 0);
  CHECK(p.x.max == 3);
  // Each interval is a step: two points per interval, at its start and end.
  REQUIRE(p.series[0].points.size() == 6);
  CHECK(p.series[0].points[1].x == 1);
  CHECK(p.series[0].points[1].y == doctest::Approx(5));
  CHECK(f->title.find("10.0.0.2") != std::string::npos);
  CHECK(f->title.find("2 streams") != std::string::npos);
  CHECK(f->title.find("3 s") != std::string::npos);

  std::string svg = render_svg(*f);
  check_svg(svg);
  for (const char* s : {"stream 1", "stream 2", "sum", "Gbit/s", "time since the test started (s)"})
    CHECK(svg.find(s) != std::string::npos);
}

TEST_CASE("plot: omitted intervals come first on the time axis, shaded") {
  Json doc = single_doc();
  doc["intervals"] = {interval(0, 1, {5, 5}, true), interval(0, 1, {6, 6}), interval(1, 2, {6, 6})};
  auto f = build_figure(doc);
  REQUIRE(f);
  const Panel& p = f->panels[0];
  REQUIRE(p.bands.size() == 1);
  CHECK(p.bands[0].to == 1);
  CHECK(p.x.max == 3);
  CHECK(p.series[0].points.back().x == 3);
}

TEST_CASE("plot: without interval reports the whole-test averages are drawn") {
  Json doc = single_doc();
  doc["intervals"] = Json::array();
  doc["end"]["streams"] = {
      {{"receiver",
        {{"socket", 1}, {"start", 0}, {"end", 2.0}, {"bits_per_second", 3e8}, {"sender", false}}}}};
  auto f = build_figure(doc);
  REQUIRE(f);
  CHECK(f->panels[0].y.label == "Mbit/s");
  CHECK(names(f->panels[0]) == std::vector<std::string>{"stream 1"});
  check_svg(render_svg(*f));
}

TEST_CASE("plot: many streams share one colour and one legend entry") {
  Json doc = single_doc();
  std::vector<double> rates(16, 1.0);
  doc["intervals"] = {interval(0, 1, rates), interval(1, 2, rates)};
  auto f = build_figure(doc);
  REQUIRE(f);
  int named = 0;
  for (const auto& s : f->panels[0].series) named += !s.name.empty();
  CHECK(named == 2);  // "each of 16 streams" and "sum"
  check_svg(render_svg(*f));
}

TEST_CASE("plot: --compare is bars per path with min-max whiskers") {
  Json cycles = compare_row("sendfile", 25);
  cycles["sender_cycles_per_byte"] = spread(1.5);
  Json unavailable = compare_row("uring", 0);
  unavailable["unavailable"] = "io_uring is disabled";
  Json doc = figure_compare_doc({compare_row("write", 20), cycles, unavailable});
  REQUIRE(*plot_kind(doc) == PlotKind::kCompare);
  auto f = build_figure(doc);
  REQUIRE(f);
  REQUIRE(f->panels.size() == 3);
  const Panel& gbps = f->panels[0];
  CHECK(gbps.kind == PanelKind::kBars);
  CHECK(gbps.x.categories == std::vector<std::string>{"write", "sendfile"});
  CHECK(gbps.y.label == "Gbit/s");
  REQUIRE(gbps.series.size() == 1);
  const Point& write = gbps.series[0].points[0];
  CHECK(write.y == 20);
  CHECK(*write.lo == doctest::Approx(18));
  CHECK(*write.hi == doctest::Approx(24));
  CHECK(names(f->panels[1]) == std::vector<std::string>{"sender", "receiver"});
  CHECK(f->panels[2].y.label == "cycles/B");
  CHECK(f->panels[2].series[0].points.size() == 1);  // only sendfile has cycles
  CHECK(f->title.find("3 rounds") != std::string::npos);
  bool noted = false;
  for (const auto& n : f->notes) noted |= n.find("uring: unavailable") != std::string::npos;
  CHECK(noted);

  std::string svg = render_svg(*f);
  check_svg(svg);
  for (const char* s : {"write", "sendfile", "sender", "receiver", "CPU s/GB", "cycles/B"})
    CHECK(svg.find(s) != std::string::npos);
}

TEST_CASE("plot: without cycles the compare plot says why there is no cycles panel") {
  auto f = build_figure(figure_compare_doc({compare_row("write", 20)}));
  REQUIRE(f);
  CHECK(f->panels.size() == 2);
  bool noted = false;
  for (const auto& n : f->notes) noted |= n.find("hardware PMU") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("plot: a NIC sweep is interrupts and frames per interrupt against the setting") {
  std::vector<Json> rows;
  for (const char* v : {"200", "0", "50"})
    for (const char* send : {"write", "sendfile"})
      rows.push_back(compare_row(send, 10, std::string("rx-usecs=") + v));
  Json doc = figure_compare_doc(rows);
  REQUIRE(*plot_kind(doc) == PlotKind::kNicSweep);
  auto f = build_figure(doc);
  REQUIRE(f);
  REQUIRE(f->panels.size() == 2);
  for (const auto& p : f->panels) {
    CHECK(p.kind == PanelKind::kLines);
    CHECK(p.x.label == "rx-usecs");
    CHECK(p.x.categories.empty());
    CHECK(names(p) == std::vector<std::string>{"write", "sendfile"});
    REQUIRE(p.series[0].points.size() == 3);
    // In numeric order, whatever the rows' order.
    CHECK(p.series[0].points[0].x == 0);
    CHECK(p.series[0].points[1].x == 50);
    CHECK(p.series[0].points[2].x == 200);
    CHECK(p.x.max == 200);
  }
  CHECK(f->panels[0].series[0].points[0].y == doctest::Approx(80000));
  CHECK(f->title.find("rx-usecs") != std::string::npos);
  std::string svg = render_svg(*f);
  check_svg(svg);
  for (const char* s : {"interrupts/GB", "frames/interrupt", "write", "sendfile"})
    CHECK(svg.find(s) != std::string::npos);
}

TEST_CASE("plot: a sweep of non-numeric values keeps their order as categories") {
  Json a = compare_row("write", 10, "rx-usecs=1"), b = compare_row("write", 10, "rx-usecs=2");
  a["nic_setting"] = "adaptive-rx=on";
  b["nic_setting"] = "adaptive-rx=off";
  auto f = build_figure(figure_compare_doc({a, b}));
  REQUIRE(f);
  CHECK(f->panels[0].x.categories == std::vector<std::string>{"on", "off"});
  check_svg(render_svg(*f));
}

TEST_CASE("plot: extreme values never put NaN or inf in the SVG") {
  Json doc = single_doc();
  doc["intervals"] = {interval(0, 1, {1e300, 0}), interval(1, 1, {5, 5})};
  auto f = build_figure(doc);
  REQUIRE(f);
  check_svg(render_svg(*f));
  Json row = compare_row("write", 1e307);
  row["sender_cpu_s_per_gb"] = spread(0);
  auto g = build_figure(figure_compare_doc({row}));
  REQUIRE(g);
  check_svg(render_svg(*g));
}

TEST_CASE("plot: input that is not a plottable result is a one-line usage error") {
  CHECK(error_of(Json::array()).find("not a nicperf -J result") != std::string::npos);
  CHECK(error_of({{"hello", 1}}).find("not a nicperf -J result") != std::string::npos);
  CHECK(error_of({{"start", Json::object()}, {"error", "connection refused"}})
            .find("the test failed (connection refused)") != std::string::npos);
  CHECK(error_of(figure_compare_doc({})).find("no rows") != std::string::npos);
  Json unavailable = compare_row("uring", 1);
  unavailable["unavailable"] = "no io_uring";
  unavailable["gbps"] = nullptr;
  CHECK(error_of(figure_compare_doc({unavailable})).find("no path with a successful run") !=
        std::string::npos);
  // Shapes nobody writes must still fail cleanly, not crash.
  CHECK(error_of({{"intervals", {1, "x", {{"streams", 5}}}}}).find("no interval") !=
        std::string::npos);
  error_of({{"compare", {{"rows", {1, 2}}}}});

  // Two keys in one sweep, and a sweep measured without --nic.
  Json a = compare_row("write", 1, "rx-usecs=0"), b = compare_row("write", 1, "rx-frames=4");
  CHECK(error_of(figure_compare_doc({a, b})).find("more than one NIC setting") !=
        std::string::npos);
  a.erase("nic_interrupts_per_gb");
  a.erase("nic_frames_per_interrupt");
  CHECK(error_of(figure_compare_doc({a})).find("--nic") != std::string::npos);
}

Json sweep_point_json(const std::string& setting, double offered, double delivered) {
  return {{"nic_setting", setting},
          {"target_pps", offered},
          {"seconds", 2},
          {"offered", offered * 2},
          {"delivered", delivered * 2},
          {"offered_pps", offered},
          {"delivered_pps", delivered},
          {"send_drops", 0},
          {"socket_drops", 0},
          {"unattributed", 0},
          {"exit_code", 0},
          {"net_rx_cpu_percent", offered / 1e4},
          {"receiver_cpu_percent", 50}};
}

TEST_CASE("plot: a --sweep-rate result draws delivered vs offered per NIC setting") {
  Json doc = single_doc();
  doc.erase("intervals");
  doc.erase("end");
  Json points = Json::array();
  for (double pps : {5e4, 2e5, 8e5}) {
    points.push_back(sweep_point_json("rx-usecs=0", pps, pps > 1e5 ? 1e5 : pps));
    points.push_back(sweep_point_json("rx-usecs=50", pps, pps > 3e5 ? 3e5 : pps));
  }
  Json failed = sweep_point_json("rx-usecs=50", 9e5, 0);
  failed["exit_code"] = 1;
  points.push_back(failed);
  doc["sweep"] = {{"nic_key", "rx-usecs"}, {"points", points}};
  REQUIRE(*plot_kind(doc) == PlotKind::kLivelock);
  auto f = build_figure(doc);
  REQUIRE(f);
  REQUIRE(f->panels.size() == 2);
  const Panel& p = f->panels[0];
  REQUIRE(p.series.size() == 3);  // two settings and the ideal line
  CHECK(p.series[0].name == "rx-usecs=0");
  CHECK(p.series[0].points.size() == 3);
  CHECK(p.series[1].points.size() == 3);  // the failed step is left out
  CHECK(p.series[0].points[2].y == doctest::Approx(1e5));
  CHECK(p.series[2].dashed);
  CHECK(p.series[2].points.back().x == doctest::Approx(8e5));
  CHECK(f->panels[1].series.size() == 4);  // NET_RX and application per setting
  check_svg(render_svg(*f));
  doc["sweep"]["points"] = Json::array();
  CHECK(error_of(doc).find("no step") != std::string::npos);
}

TEST_CASE("plot: a --json-stream capture is read event by event") {
  Json doc = single_doc();
  std::string stream;
  stream += Json{{"event", "start"}, {"data", doc["start"]}}.dump() + "\n";
  for (const auto& iv : doc["intervals"])
    stream += Json{{"event", "interval"}, {"data", iv}}.dump() + "\n";
  stream += Json{{"event", "end"}, {"data", doc["end"]}}.dump() + "\n";
  auto parsed = parse_saved_result(stream, "capture");
  REQUIRE(parsed);
  CHECK((*parsed)["intervals"].size() == 3);
  auto f = build_figure(*parsed);
  REQUIRE(f);
  CHECK(f->panels[0].series.size() == 3);

  // A --compare capture is its one end event.
  Json cmp = figure_compare_doc({compare_row("write", 5)});
  auto end = parse_saved_result(Json{{"event", "end"}, {"data", cmp}}.dump() + "\n", "c");
  REQUIRE(end);
  CHECK(*plot_kind(*end) == PlotKind::kCompare);
  // Garbage: tests/unit/tools/test_saved_result.cpp.
}

TEST_CASE("plot: the subcommand writes the SVG or one error line with exit 2") {
  char path[] = "/tmp/nicperf-plot-unit.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << single_doc().dump();
  std::ostringstream out, err;
  CHECK(run_plot_command({path, "-o", "-"}, out, err) == 0);
  CHECK(err.str().empty());
  check_svg(out.str());

  std::ofstream(path) << "{\"hello\": 1}";
  for (const auto& args : {std::vector<std::string>{path, "-o", "-"},
                           std::vector<std::string>{"/nonexistent/r.json", "-o", "-"},
                           std::vector<std::string>{path}}) {
    std::ostringstream o, e;
    CHECK(run_plot_command(args, o, e) == 2);
    CHECK(o.str().empty());
    std::string line = e.str();
    CHECK(line.rfind("nicperf: error: ", 0) == 0);
    CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  }
  std::remove(path);
}
