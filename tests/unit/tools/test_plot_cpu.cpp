// The single-test chart's CPU panels, from a hand-built result: stack order, stacked values,
// the shared time axis and the caption when softirq was not traced.
#include <doctest/doctest.h>

#include "nicperf/tools/plot.hpp"
#include "panel_names.hpp"

using namespace nicperf;
using namespace nicperf::plot;
using plot_test::names;

namespace {

Json interval(double from, double to, const Json& cpu) {
  Json stream = {{"socket", 1},    {"start", from},   {"end", to}, {"bits_per_second", 5e9},
                 {"sender", true}, {"omitted", false}};
  Json j = {{"streams", {stream}},
            {"sum",
             {{"start", from},
              {"end", to},
              {"bits_per_second", 5e9},
              {"sender", true},
              {"omitted", false}}}};
  if (!cpu.is_null()) j["cpu"] = cpu;
  return j;
}

Json side(double from, double to, double user, double kernel, std::optional<double> softirq = {},
          std::optional<double> hardirq = {}) {
  Json j = {{"start", from}, {"end", to}, {"user_percent", user}, {"kernel_percent", kernel}};
  if (softirq) j["softirq_percent"] = *softirq;
  if (hardirq) j["hardirq_percent"] = *hardirq;
  return j;
}

Json doc(std::vector<Json> intervals) {
  return {{"start",
           {{"connecting_to", {{"host", "10.0.0.2"}, {"port", 5201}}},
            {"test_spec",
             {{"streams", 1}, {"duration", 2.0}, {"send_mode", "write"}, {"recv_mode", "read"}}}}},
          {"intervals", intervals},
          {"end", {{"streams", Json::array()}}}};
}

bool noted(const Figure& f, const std::string& what) {
  for (const auto& n : f.notes)
    if (n.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("plot: CPU panels stack user, kernel, softirq, hardirq per side under the throughput") {
  Json d = doc(
      {interval(0, 1, {{"client", side(0, 1, 10, 30, 5, 1)}, {"server", side(0, 1, 20, 40, 8, 2)}}),
       interval(1, 2,
                {{"client", side(1, 2, 12, 28, 6, 1)}, {"server", side(1, 2, 22, 44, 9, 3)}})});
  auto f = build_figure(d);
  REQUIRE(f);
  REQUIRE(f->panels.size() == 3);
  CHECK(f->one_column);
  const Panel& client = f->panels[1];
  const Panel& server = f->panels[2];
  CHECK(client.title == "client CPU (stream threads)");
  CHECK(server.title == "server CPU (stream threads)");
  CHECK(client.y.label == "% of one CPU");
  // Bottom to top: user, kernel, softirq, hardirq.
  CHECK(names(client) == std::vector<std::string>{"user", "kernel", "softirq", "hardirq"});
  for (const auto& s : client.series) CHECK(s.area);
  // Each layer goes round: its top forward over the intervals, its base back.
  const Series& kernel = client.series[1];
  REQUIRE(kernel.points.size() == 8);
  CHECK(kernel.points[0].x == 0);
  CHECK(kernel.points[0].y == doctest::Approx(40));  // user 10 + kernel 30
  CHECK(kernel.points[3].x == 2);
  CHECK(kernel.points[3].y == doctest::Approx(40));  // 12 + 28
  CHECK(kernel.points[4].y == doctest::Approx(12));  // the base: user alone
  CHECK(kernel.points[7].y == doctest::Approx(10));
  const Series& hardirq = server.series[3];
  CHECK(hardirq.points[2].y == doctest::Approx(22 + 44 + 9 + 3));
  CHECK(server.y.max >= 78);
  // The time axis is the throughput's.
  CHECK(client.x.min == f->panels[0].x.min);
  CHECK(client.x.max == f->panels[0].x.max);
  CHECK_FALSE(noted(*f, "user and kernel only"));

  std::string svg = render_svg(*f);
  CHECK(svg.find("client CPU (stream threads)") != std::string::npos);
  CHECK(svg.find("server CPU (stream threads)") != std::string::npos);
  CHECK(svg.find("% of one CPU") != std::string::npos);
  // Four layers per side, drawn bottom first (later polygons paint over earlier ones).
  std::size_t polygons = 0;
  for (std::size_t at = svg.find("<polygon"); at != std::string::npos;
       at = svg.find("<polygon", at + 1))
    ++polygons;
  CHECK(polygons == 8);
  std::size_t user = svg.find(">user</text>"), hard = svg.find(">hardirq</text>");
  REQUIRE(user != std::string::npos);
  REQUIRE(hard != std::string::npos);
  CHECK(user < hard);
}

TEST_CASE("plot: without traced softirq the CPU panel is user and kernel, and says so") {
  Json d = doc({interval(0, 1, {{"client", side(0, 1, 10, 30)}}),
                interval(1, 2, {{"client", side(1, 2, 10, 30)}})});
  auto f = build_figure(d);
  REQUIRE(f);
  REQUIRE(f->panels.size() == 2);
  CHECK(names(f->panels[1]) == std::vector<std::string>{"user", "kernel"});
  CHECK(noted(*f, "The client CPU shows user and kernel only"));
  // A client result whose server sent nothing says why its panel is missing.
  CHECK(noted(*f, "The server sent no per-interval CPU"));
  std::string svg = render_svg(*f);
  CHECK(svg.find("user and kernel only") != std::string::npos);
  CHECK(svg.find(">softirq</text>") == std::string::npos);
}

TEST_CASE("plot: a result without interval CPU keeps the throughput chart alone") {
  Json d = doc({interval(0, 1, nullptr), interval(1, 2, nullptr)});
  auto f = build_figure(d);
  REQUIRE(f);
  CHECK(f->panels.size() == 1);
  CHECK_FALSE(f->one_column);
}
