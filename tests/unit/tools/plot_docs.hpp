// Result documents and SVG checks the plot tests share.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "nicperf/tools/plot.hpp"

namespace plot_test {

using nicperf::Errc;
using nicperf::Json;
using namespace nicperf::plot;

// Enough XML to catch a broken writer: one root, tags nest and close, entities are known ones,
// quotes pair up. Returns "" or what is wrong.
inline std::string xml_problem(const std::string& s) {
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
inline std::string bad_coordinate(const std::string& svg) {
  std::regex attr(R"re(\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height|points|viewBox)="([^"]*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), attr); it != std::sregex_iterator();
       ++it) {
    std::string v = (*it)[2];
    if (v == "100%") continue;
    if (!std::regex_match(v, std::regex(R"([-0-9., ]+)"))) return (*it)[1].str() + "=" + v;
  }
  return "";
}

inline void check_svg(const std::string& svg) {
  CHECK(xml_problem(svg) == "");
  CHECK(bad_coordinate(svg) == "");
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("href") == std::string::npos);
}

inline Json interval(double from, double to, std::vector<double> gbps, bool omitted = false) {
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

inline Json single_doc(const std::string& host = "10.0.0.2") {
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

inline Json spread(double median, int n = 3) {
  Json j = {
      {"n", n}, {"median", median}, {"mean", median}, {"min", median * 0.9}, {"max", median * 1.2}};
  if (n >= 2) j["ci95"] = median * 0.1;
  return j;
}

inline Json compare_row(const std::string& send, double gbps, const std::string& nic = "") {
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

inline Json compare_doc(std::vector<Json> rows) {
  return {{"start",
           {{"connecting_to", {{"host", "10.0.0.2"}, {"port", 5201}}},
            {"test_spec", {{"streams", 1}, {"duration", 1.0}, {"direction", "normal"}}}}},
          {"compare", {{"repeat", 3}, {"runs", Json::array()}, {"rows", rows}}},
          {"context", Json::object()}};
}

inline std::string error_of(const Json& doc) {
  auto f = build_figure(doc);
  REQUIRE_FALSE(f);
  CHECK(f.error().code == Errc::kUsage);
  CHECK(f.error().message.find('\n') == std::string::npos);
  return f.error().message;
}

inline std::vector<std::string> names(const Panel& p) {
  std::vector<std::string> out;
  for (const auto& s : p.series) out.push_back(s.name);
  return out;
}

}  // namespace plot_test
