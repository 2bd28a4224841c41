// Plot inputs: --sweep-rate results, --json-stream captures, and the subcommand itself.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "nicperf/tools/plot.hpp"
#include "plot_docs.hpp"

using namespace nicperf;
using namespace nicperf::plot;
using namespace plot_test;

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
  auto parsed = parse_input(stream, "capture");
  REQUIRE(parsed);
  CHECK((*parsed)["intervals"].size() == 3);
  auto f = build_figure(*parsed);
  REQUIRE(f);
  CHECK(f->panels[0].series.size() == 3);

  // A --compare capture is its one end event.
  Json cmp = compare_doc({compare_row("write", 5)});
  auto end = parse_input(Json{{"event", "end"}, {"data", cmp}}.dump() + "\n", "c");
  REQUIRE(end);
  CHECK(*plot_kind(*end) == PlotKind::kCompare);

  auto bad = parse_input("{\"event\": \"start\"}\nnot json\n", "junk.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::kUsage);
  CHECK(bad.error().message.find("junk.json") != std::string::npos);
  CHECK(bad.error().message.find("line 2") != std::string::npos);
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
