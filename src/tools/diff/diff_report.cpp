// nicperf diff's views (the JSON and the text table) and its subcommand.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <ostream>

#include "nicperf/tools/command.hpp"
#include "nicperf/tools/diff.hpp"
#include "nicperf/util/units.hpp"
#include "tools/diff/diff_figures.hpp"

namespace nicperf {

namespace {

using diff::figure_def;
using diff::FigureDef;

const char* better_name(Better b) {
  return b == Better::kHigher ? "higher" : b == Better::kLower ? "lower" : "neither";
}

Json value_json(const DiffValue& v) {
  Json j = {{"n", v.n}, {"mean", v.mean}, {"median", v.median}};
  if (v.ci95) j["ci95"] = *v.ci95;
  return j;
}

Json figure_json(const FigureDiff& f) {
  bool ci = f.verdict == Verdict::kSignificant || f.verdict == Verdict::kWithinNoise;
  return {{"figure", f.key},
          {"label", f.label},
          {"better", better_name(f.better)},
          {"a", value_json(f.a)},
          {"b", value_json(f.b)},
          {"change_percent", f.change_percent ? Json(*f.change_percent) : Json()},
          {"verdict", verdict_name(f.verdict)},
          {"basis", ci ? "ci95_overlap" : "rule_of_thumb"},
          {"effect", effect_name(f.effect)}};
}

}  // namespace

Json diff_json(const DiffResult& d) {
  Json rows = Json::array();
  for (const auto& r : d.rows) {
    Json figures = Json::array(), missing = Json::array();
    for (const auto& f : r.figures) figures.push_back(figure_json(f));
    for (const auto& m : r.missing) missing.push_back({{"figure", m.key}, {"only_in", m.only_in}});
    Json j = {{"label", r.label},
              {"send_mode", r.send_mode},
              {"recv_mode", r.recv_mode},
              {"figures", figures},
              {"missing", missing}};
    if (!r.nic_setting.empty()) j["nic_setting"] = r.nic_setting;
    rows.push_back(j);
  }
  Json out = {{"diff",
               {{"kind", d.kind == DiffKind::kSingle ? "single" : "compare"},
                {"a", d.name_a},
                {"b", d.name_b},
                {"rule_of_thumb_percent", kRuleOfThumbPercent},
                {"rows", rows},
                {"notes", d.notes},
                {"verdict", overall_name(d.overall)}}}};
  if (!d.profiles.empty()) {
    Json& profile = out["diff"]["profile"];
    for (const auto& [side, table] : d.profiles)
      profile[side.substr(0, side.find(' '))] = profile_table_json(table);
  }
  return out;
}

namespace {

std::string value_cell(const FigureDiff& f, const DiffValue& v) {
  const FigureDef& def = figure_def(f.key);
  std::string s = fixed(v.mean * def.scale, def.decimals) + def.suffix;
  if (v.has_interval()) s += " +-" + fixed(*v.ci95 * def.scale, def.decimals);
  return s;
}

std::string verdict_cell(const FigureDiff& f) {
  std::string s;
  switch (f.verdict) {
    case Verdict::kSignificant:
    case Verdict::kWithinNoise:
      s = verdict_name(f.verdict);
      break;
    case Verdict::kBeyondRule:
      s = "beyond " + fixed(kRuleOfThumbPercent, 0) + "% (rule of thumb)";
      break;
    case Verdict::kLikelyNoise:
      s = "likely noise (under " + fixed(kRuleOfThumbPercent, 0) + "%, rule of thumb)";
      break;
  }
  if (f.effect != Effect::kNone) s += ": " + std::string(effect_name(f.effect));
  if (f.a.n > 1 || f.b.n > 1)
    s += " (n=" + std::to_string(f.a.n) + " vs n=" + std::to_string(f.b.n) + ")";
  return s;
}

using Line = std::vector<std::string>;

void print_table(std::ostream& out, const std::vector<Line>& lines) {
  std::vector<std::size_t> width;
  for (const auto& l : lines)
    for (std::size_t i = 0; i < l.size(); ++i) {
      width.resize(std::max(width.size(), l.size()));
      width[i] = std::max(width[i], l[i].size());
    }
  for (const auto& l : lines) {
    std::string s;
    for (std::size_t i = 0; i < l.size(); ++i)
      s += i + 1 == l.size() ? l[i] : l[i] + std::string(width[i] - l[i].size() + 2, ' ');
    out << s << "\n";
  }
}

std::string change_cell(const FigureDiff& f) {
  if (!f.change_percent) return "-";
  return (*f.change_percent >= 0 ? "+" : "") + fixed(*f.change_percent, 1) + "%";
}

void print_footer(std::ostream& out, const DiffResult& d) {
  bool interval = false, share = false;
  for (const auto& r : d.rows) {
    for (const auto& f : r.figures) {
      interval |= f.a.has_interval() || f.b.has_interval();
      share |= f.better == Better::kNeither;
    }
    if (!r.missing.empty()) {
      out << r.label << ": not compared:";
      for (const auto& m : r.missing)
        out << " " << m.label << " (only in " << m.only_in << ")"
            << (&m == &r.missing.back() ? "" : ",");
      out << "\n";
    }
  }
  if (interval)
    out << "A, B: mean +-half-width of its 95% confidence interval; significant: the two "
           "intervals do not overlap\n";
  if (d.rule_of_thumb)
    out << (d.kind == DiffKind::kSingle ? "one run each" : "fewer than 2 runs on a side")
        << ": no noise estimate (use --repeat N); rule of thumb: a change under "
        << fixed(kRuleOfThumbPercent, 0) << "% is reported as likely noise\n";
  if (share) out << "softirq and zc copied shares are shown, not judged better or worse\n";
  for (const auto& n : d.notes) out << "note: " << n << "\n";
  out << "Verdict: " << overall_name(d.overall)
      << (d.rule_of_thumb && d.overall != Effect::kNone ? " (by the rule of thumb for some figures)"
                                                        : "")
      << "\n";
}

}  // namespace

void print_diff(std::ostream& out, const DiffResult& d) {
  out << "Change from A to B, "
      << (d.kind == DiffKind::kSingle ? "two single tests" : "two --compare/--repeat results")
      << "\nA: " << d.name_a << "\nB: " << d.name_b << "\n";
  std::vector<Line> lines = {{"row", "figure", "A", "B", "change", "verdict"}};
  for (const auto& r : d.rows)
    for (const auto& f : r.figures)
      lines.push_back({&f == &r.figures.front() ? r.label : "", f.label, value_cell(f, f.a),
                       value_cell(f, f.b), change_cell(f), verdict_cell(f)});
  print_table(out, lines);
  for (const auto& [side, table] : d.profiles) print_profile_table(out, side, table);
  if (!d.profiles.empty())
    out << "the whole stacks as a differential flame graph: nicperf plot B/client.folded "
           "--base A/client.folded (each test's --profile-out DIR)\n";
  print_footer(out, d);
}

int run_diff_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app(
      "nicperf diff: the change between two saved -J results, and whether it exceeds "
      "the noise",
      "nicperf diff");
  std::vector<std::string> files;
  bool json = false, fail_on_regression = false;
  app.add_option("files", files, "A.json B.json: two -J outputs of the same kind")
      ->required()
      ->expected(2);
  app.add_flag("-J,--json", json, "Print the diff as JSON");
  app.add_flag("--fail-on-regression", fail_on_regression,
               "Exit 9 when any figure is a regression");
  app.footer(
      "With --repeat/--compare results (n >= 2 on both sides) a change is significant when the\n"
      "95% confidence intervals of the two means do not overlap. Single tests have no noise\n"
      "estimate: a change under 5% is reported as likely noise (a rule of thumb). Higher Gbit/s\n"
      "and lower CPU s/GB and cycles/B are better; shares are shown, not judged.");
  if (auto done = parse_subcommand(app, "diff", args, out, err)) return *done;
  auto a = read_result_file(files[0]);
  auto b = a ? read_result_file(files[1]) : a;
  auto d = b ? diff_results(*a, *b, files[0], files[1]) : Expected<DiffResult>(b.error());
  if (!d) {
    err << "nicperf: error: " << d.error().message << "\n";
    return exit_code(d.error().code);
  }
  if (json)
    out << diff_json(*d).dump(4) << "\n";
  else
    print_diff(out, *d);
  bool failed = fail_on_regression && d->overall == Effect::kRegression;
  return failed ? exit_code(Errc::kThreshold) : 0;
}

}  // namespace nicperf
