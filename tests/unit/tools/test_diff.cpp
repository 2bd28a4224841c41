#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "nicperf/tools/diff.hpp"

using namespace nicperf;

namespace {

// A --compare row's spread, as compare_json writes it.
Json spread_of(double mean, double ci95, int n = 3) {
  Json j = {{"n", n}, {"mean", mean}, {"median", mean}, {"min", mean - ci95}, {"max", mean + ci95}};
  if (n >= 2) j["ci95"] = ci95;
  return j;
}

Json row(const std::string& send, double gbps, double ci, double s_per_gb = 0.5) {
  return {{"send_mode", send},
          {"recv_mode", "read"},
          {"failures", 0},
          {"gbps", spread_of(gbps, ci)},
          {"copied_share", nullptr},
          {"sender_cpu_s_per_gb", spread_of(s_per_gb, 0.01)},
          {"receiver_cpu_s_per_gb", spread_of(0.3, 0.01)},
          {"sender_softirq_share", nullptr},
          {"receiver_softirq_share", nullptr}};
}

Json compare_doc(std::vector<Json> rows) {
  return {{"start", {{"test_spec", {{"streams", 1}, {"direction", "normal"}}}}},
          {"compare", {{"repeat", 3}, {"runs", Json::array()}, {"rows", rows}}}};
}

Json side_cost(double s_per_gb, bool traced, std::optional<double> cycles) {
  Json j = {{"level", traced ? "full" : "counters"},
            {"bytes", 1000000000},
            {"derived",
             {{"cpu_seconds_per_gb", s_per_gb},
              {"cycles_per_byte", cycles ? Json(*cycles) : Json()},
              {"softirq_share", traced ? 0.2 : 0.0}}}};
  if (traced) j["attribution"] = Json::object();
  return j;
}

// A single -J report with only the fields diff reads.
Json single_doc(double gbps, double client_s_per_gb, double server_s_per_gb,
                const std::string& direction = "normal", bool traced = true,
                std::optional<double> cycles = std::nullopt) {
  return {
      {"start",
       {{"test_spec", {{"send_mode", "write"}, {"recv_mode", "read"}, {"direction", direction}}}}},
      {"end",
       {{"sum_received", {{"bits_per_second", gbps * 1e9}}},
        {"paths", {{"send", {{"mode", "write"}}}}},
        {"cost",
         {{"client", side_cost(client_s_per_gb, traced, cycles)},
          {"server", side_cost(server_s_per_gb, traced, cycles)}}}}}};
}

const FigureDiff* figure(const DiffResult& d, const std::string& key, std::size_t row = 0) {
  for (const auto& f : d.rows.at(row).figures)
    if (f.key == key) return &f;
  return nullptr;
}

std::string text_of(const DiffResult& d) {
  std::ostringstream out;
  print_diff(out, d);
  return out.str();
}

}  // namespace

TEST_CASE("diff: intervals apart are a significant improvement") {
  auto d = diff_results(compare_doc({row("write", 10, 0.5, 0.5)}),
                        compare_doc({row("write", 12, 0.5, 0.4)}));
  REQUIRE(d);
  CHECK(d->kind == DiffKind::kCompare);
  const FigureDiff* g = figure(*d, "gbps");
  REQUIRE(g);
  CHECK(g->verdict == Verdict::kSignificant);
  CHECK(g->effect == Effect::kImprovement);
  CHECK(*g->change_percent == doctest::Approx(20));
  CHECK(figure(*d, "sender_cpu_s_per_gb")->effect == Effect::kImprovement);  // lower is better
  CHECK(figure(*d, "receiver_cpu_s_per_gb")->verdict == Verdict::kWithinNoise);
  CHECK(d->overall == Effect::kImprovement);
  CHECK_FALSE(d->rule_of_thumb);
  std::string text = text_of(*d);
  CHECK(text.find("Gbit/s") != std::string::npos);
  CHECK(text.find("significant: improvement (n=3 vs n=3)") != std::string::npos);
  CHECK(text.find("Verdict: improvement") != std::string::npos);
  Json j = diff_json(*d);
  CHECK(j["diff"]["verdict"] == "improvement");
  CHECK(j["diff"]["rows"][0]["figures"][0]["verdict"] == "significant");
  CHECK(j["diff"]["rows"][0]["figures"][0]["basis"] == "ci95_overlap");
}

TEST_CASE("diff: overlapping intervals are within noise, however large the change") {
  // 10 +-3 vs 14 +-3: +40%, but [7, 13] and [11, 17] overlap.
  auto d = diff_results(compare_doc({row("write", 10, 3)}), compare_doc({row("write", 14, 3)}));
  REQUIRE(d);
  const FigureDiff* g = figure(*d, "gbps");
  CHECK(g->verdict == Verdict::kWithinNoise);
  CHECK(g->effect == Effect::kNone);
  CHECK(d->overall == Effect::kNone);
  CHECK(text_of(*d).find("within noise (n=3 vs n=3)") != std::string::npos);
  CHECK(diff_json(*d)["diff"]["verdict"] == "no significant change");
}

TEST_CASE("diff: a significant throughput drop is a regression") {
  auto d = diff_results(compare_doc({row("write", 20, 0.2)}), compare_doc({row("write", 15, 0.2)}));
  REQUIRE(d);
  CHECK(figure(*d, "gbps")->effect == Effect::kRegression);
  CHECK(d->overall == Effect::kRegression);
}

TEST_CASE("diff: single runs have no noise estimate, a fixed rule of thumb stands in") {
  auto d = diff_results(single_doc(10, 0.5, 0.3), single_doc(10.2, 0.6, 0.3));
  REQUIRE(d);
  CHECK(d->kind == DiffKind::kSingle);
  CHECK(d->rule_of_thumb);
  REQUIRE(d->rows.size() == 1);
  CHECK(d->rows[0].label == "write/read");
  CHECK(figure(*d, "gbps")->verdict == Verdict::kLikelyNoise);  // +2%
  const FigureDiff* cpu = figure(*d, "sender_cpu_s_per_gb");    // +20%, lower is better
  CHECK(cpu->verdict == Verdict::kBeyondRule);
  CHECK(cpu->effect == Effect::kRegression);
  CHECK(d->overall == Effect::kRegression);
  std::string text = text_of(*d);
  CHECK(text.find("one run each: no noise estimate (use --repeat N)") != std::string::npos);
  CHECK(text.find("likely noise") != std::string::npos);
  CHECK(diff_json(*d)["diff"]["rows"][0]["figures"][0]["basis"] == "rule_of_thumb");
}

TEST_CASE("diff: the sender of a reverse test is the server") {
  auto d = diff_results(single_doc(10, 0.5, 0.9, "reverse"), single_doc(10, 0.5, 0.9, "reverse"));
  REQUIRE(d);
  CHECK(figure(*d, "sender_cpu_s_per_gb")->a.mean == 0.9);
  CHECK(figure(*d, "receiver_cpu_s_per_gb")->a.mean == 0.5);
}

TEST_CASE("diff: figures measured on one side only are listed, not compared") {
  // A traced softirqs and had a PMU; B did neither.
  auto d = diff_results(single_doc(10, 0.5, 0.3, "normal", true, 4.5),
                        single_doc(10, 0.5, 0.3, "normal", false));
  REQUIRE(d);
  CHECK(figure(*d, "sender_cycles_per_byte") == nullptr);
  CHECK(figure(*d, "sender_softirq_share") == nullptr);
  CHECK(figure(*d, "copied_share") == nullptr);  // in neither: not even listed
  const auto& missing = d->rows[0].missing;
  REQUIRE(missing.size() == 4);
  CHECK(missing[0].key == "sender_cycles_per_byte");
  CHECK(missing[0].only_in == "A");
  CHECK(text_of(*d).find("not compared: cycles/B snd (only in A)") != std::string::npos);
  CHECK(diff_json(*d)["diff"]["rows"][0]["missing"][0]["only_in"] == "A");
}

TEST_CASE("diff: shares are shown but judged neither better nor worse") {
  Json a = compare_doc({row("write", 10, 0.1)}), b = compare_doc({row("write", 10, 0.1)});
  a["compare"]["rows"][0]["sender_softirq_share"] = spread_of(0.1, 0.01);
  b["compare"]["rows"][0]["sender_softirq_share"] = spread_of(0.5, 0.01);
  auto d = diff_results(a, b);
  REQUIRE(d);
  const FigureDiff* s = figure(*d, "sender_softirq_share");
  REQUIRE(s);
  CHECK(s->verdict == Verdict::kSignificant);
  CHECK(s->effect == Effect::kNone);
  CHECK(d->overall == Effect::kNone);
}

TEST_CASE("diff: rows pair up by send and receive path (and NIC setting)") {
  auto d = diff_results(compare_doc({row("write", 10, 1), row("sendfile", 12, 1)}),
                        compare_doc({row("sendfile", 12, 1), row("splice", 9, 1)}));
  REQUIRE(d);
  REQUIRE(d->rows.size() == 1);
  CHECK(d->rows[0].label == "sendfile/read");
  std::string notes;
  for (const auto& n : d->notes) notes += n + "\n";
  CHECK(notes.find("write/read: only in A") != std::string::npos);
  CHECK(notes.find("splice/read: only in B") != std::string::npos);

  Json a = row("write", 10, 1), b = row("write", 10, 1);
  a["nic_setting"] = "rx-usecs=0";
  b["nic_setting"] = "rx-usecs=50";
  auto none = diff_results(compare_doc({a}), compare_doc({b}));
  REQUIRE_FALSE(none);
  CHECK(none.error().code == Errc::kUsage);
  CHECK(none.error().message.find("no send/receive path row in common") != std::string::npos);
}

TEST_CASE("diff: fewer than two runs on a side falls back to the rule of thumb") {
  Json a = row("write", 10, 0.1), b = row("write", 11, 0.1);
  a["gbps"] = spread_of(10, 0, 1);
  auto d = diff_results(compare_doc({a}), compare_doc({b}));
  REQUIRE(d);
  const FigureDiff* g = figure(*d, "gbps");
  CHECK(g->verdict == Verdict::kBeyondRule);  // +10%
  CHECK(g->effect == Effect::kImprovement);
  CHECK(d->rule_of_thumb);
  CHECK(text_of(*d).find("(n=1 vs n=3)") != std::string::npos);
}

TEST_CASE("diff: mixed kinds and non-results are usage errors") {
  auto mixed = diff_results(single_doc(10, 0.5, 0.3), compare_doc({row("write", 10, 1)}), "a.json",
                            "b.json");
  REQUIRE_FALSE(mixed);
  CHECK(mixed.error().code == Errc::kUsage);
  CHECK(mixed.error().message ==
        "a.json is a single test and b.json a --compare/--repeat result: diff needs two of the "
        "same kind");
  auto other = diff_results(Json{{"foo", 1}}, single_doc(10, 0.5, 0.3), "x.json", "y.json");
  REQUIRE_FALSE(other);
  CHECK(other.error().message.find("x.json is not a nicperf -J result") == 0);
  Json failed = {{"end", Json::object()}, {"error", "connection refused"}};
  auto no_result = diff_results(single_doc(10, 0.5, 0.3), failed, "a", "b");
  REQUIRE_FALSE(no_result);
  CHECK(no_result.error().message == "b holds no result: the test failed (connection refused)");
  CHECK_FALSE(diff_results(Json::array(), Json(3)));
}

TEST_CASE("diff: differing test specs are noted") {
  Json a = single_doc(10, 0.5, 0.3), b = single_doc(10, 0.5, 0.3);
  a["start"]["test_spec"]["streams"] = 1;
  b["start"]["test_spec"]["streams"] = 4;
  auto d = diff_results(a, b);
  REQUIRE(d);
  REQUIRE(d->notes.size() == 1);
  CHECK(d->notes[0] == "the tests differ in streams: 1 in A, 4 in B");
  auto bidir = diff_results(single_doc(10, 0.5, 0.3, "bidir"), single_doc(10, 0.5, 0.3, "bidir"));
  REQUIRE(bidir);
  REQUIRE(bidir->notes.size() == 1);
  CHECK(bidir->notes[0].find("bidir: Gbit/s is the client-to-server direction") == 0);
}

TEST_CASE("diff: files: -J documents, --json-stream captures, unreadable files") {
  char dir_tmpl[] = "/tmp/nicperf-unit-diff.XXXXXX";
  REQUIRE(mkdtemp(dir_tmpl));
  std::string dir = dir_tmpl, a = dir + "/a.json", b = dir + "/b.jsonl", bad = dir + "/bad.json";
  std::ofstream(a) << single_doc(10, 0.5, 0.3).dump(4);
  Json doc = single_doc(8, 0.5, 0.3);
  std::ofstream(b) << Json{{"event", "start"}, {"data", doc["start"]}}.dump() << "\n"
                   << Json{{"event", "end"}, {"data", doc["end"]}}.dump() << "\n";
  std::ofstream(bad) << "not json\n";

  auto ja = read_result_file(a);
  auto jb = read_result_file(b);
  REQUIRE(ja);
  REQUIRE(jb);
  auto d = diff_results(*ja, *jb);
  REQUIRE(d);
  CHECK(figure(*d, "gbps")->change_percent == doctest::Approx(-20));
  auto missing = read_result_file(dir + "/none.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::kUsage);
  CHECK_FALSE(read_result_file(bad));

  std::ostringstream out, err;
  CHECK(run_diff_command({a, b}, out, err) == 0);
  CHECK(out.str().find("Verdict: regression") != std::string::npos);
  CHECK(run_diff_command({"--fail-on-regression", a, b}, out, err) == exit_code(Errc::kThreshold));
  CHECK(run_diff_command({"--fail-on-regression", a, a}, out, err) == 0);
  std::ostringstream machine;
  CHECK(run_diff_command({"-J", a, b}, machine, err) == 0);
  CHECK(Json::parse(machine.str())["diff"]["verdict"] == "regression");
  std::ostringstream err2;
  CHECK(run_diff_command({a, bad}, out, err2) == exit_code(Errc::kUsage));
  CHECK(err2.str() ==
        "nicperf: error: '" + bad + "' is not JSON (a nicperf -J or --json-stream output)\n");
  CHECK(run_diff_command({a}, out, err) == exit_code(Errc::kUsage));

  for (const auto& f : {a, b, bad}) std::remove(f.c_str());
  rmdir(dir.c_str());
}

namespace {

Json profile_json(std::vector<std::pair<std::string, std::uint64_t>> kernel_self,
                  std::uint64_t samples) {
  Profile p;
  p.event = "cpu-clock";
  p.rate_hz = 499;
  p.samples = samples;
  p.threads = 1;
  p.window_s = 1;
  p.bytes = 1000000;
  for (const auto& [name, n] : kernel_self)
    p.top_self.push_back({name, FrameGroup::kKernel, n, double(n) / double(samples), 0});
  p.top_self.push_back({"main", FrameGroup::kUser, samples / 10, 0.1, 0});
  return to_json(p, false);
}

}  // namespace

TEST_CASE("diff: two profiled tests get each side's kernel functions with A and B as columns") {
  Json a = single_doc(10, 0.5, 0.5), b = single_doc(12, 0.4, 0.5);
  a["end"]["profile"]["client"] =
      profile_json({{"_copy_from_iter", 400}, {"tcp_sendmsg", 100}}, 1000);
  b["end"]["profile"]["client"] = profile_json({{"tcp_sendmsg", 150}, {"filemap_read", 50}}, 500);
  auto d = diff_results(a, b);
  REQUIRE(d);
  REQUIRE(d->profiles.size() == 1);  // the server was not profiled
  const auto& [side, t] = d->profiles[0];
  CHECK(side == "client (sender)");
  CHECK(t.columns == std::vector<std::string>{"A", "B"});
  REQUIRE(t.rows.size() == 3);  // user code is left out
  // Ranked by the largest share either gives: 40% in A, then 30% in B, then 10% in B.
  CHECK(t.rows[0].function == "_copy_from_iter");
  CHECK(*t.rows[0].share[0] == doctest::Approx(0.4));
  CHECK(*t.rows[0].share[1] == 0);
  CHECK(t.rows[1].function == "tcp_sendmsg");
  CHECK(*t.rows[1].share[0] == doctest::Approx(0.1));
  CHECK(*t.rows[1].share[1] == doctest::Approx(0.3));
  CHECK(t.rows[2].function == "filemap_read");
  std::string text = text_of(*d);
  CHECK(text.find("Profile of the client (sender)") != std::string::npos);
  CHECK(text.find("--base A/client.folded") != std::string::npos);
  Json j = diff_json(*d);
  CHECK(j["diff"]["profile"]["client"]["rows"][0]["share"][0] == doctest::Approx(0.4));
  CHECK_FALSE(j["diff"]["profile"].contains("server"));
}

TEST_CASE("diff: a side profiled in A only shows no share for B, and no profile means no table") {
  Json a = single_doc(10, 0.5, 0.5, "reverse"), b = single_doc(10, 0.5, 0.5, "reverse");
  auto plain = diff_results(a, b);
  REQUIRE(plain);
  CHECK(plain->profiles.empty());
  CHECK_FALSE(diff_json(*plain)["diff"].contains("profile"));
  a["end"]["profile"]["server"] = profile_json({{"_copy_from_iter", 300}}, 1000);
  auto d = diff_results(a, b);
  REQUIRE(d);
  REQUIRE(d->profiles.size() == 1);
  CHECK(d->profiles[0].first == "server (sender)");
  CHECK_FALSE(d->profiles[0].second.rows[0].share[1].has_value());
}
