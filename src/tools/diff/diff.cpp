#include "nicperf/tools/diff.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "nicperf/results/results.hpp"
#include "nicperf/tools/command.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {
namespace {

Error usage(const std::string& message) { return {Errc::kUsage, message}; }

struct FigureDef {
  const char* key;
  const char* label;
  Better better;
  int decimals;
  double scale;  // shares are stored 0-1 and shown in percent
  const char* suffix;
};

// The keys are the --compare rows' keys, so a row is read by name.
constexpr FigureDef kFigures[] = {
    {"gbps", "Gbit/s", Better::kHigher, 2, 1, ""},
    {"sender_cpu_s_per_gb", "CPU s/GB snd", Better::kLower, 3, 1, ""},
    {"receiver_cpu_s_per_gb", "CPU s/GB rcv", Better::kLower, 3, 1, ""},
    {"sender_cycles_per_byte", "cycles/B snd", Better::kLower, 2, 1, ""},
    {"receiver_cycles_per_byte", "cycles/B rcv", Better::kLower, 2, 1, ""},
    {"sender_softirq_share", "softirq snd", Better::kNeither, 1, 100, "%"},
    {"receiver_softirq_share", "softirq rcv", Better::kNeither, 1, 100, "%"},
    {"copied_share", "zc copied", Better::kNeither, 1, 100, "%"},
};

const FigureDef& figure_def(const std::string& key) {
  for (const auto& f : kFigures)
    if (key == f.key) return f;
  return kFigures[0];
}

// One side's row: its identity and whichever figures it measured.
struct SideRow {
  std::string send, recv, nic;
  int failures = 0;
  std::map<std::string, DiffValue> values;
  std::string id() const { return (nic.empty() ? "" : nic + " ") + send + "/" + recv; }
};

const Json* at(const Json& j, std::initializer_list<const char*> path) {
  const Json* p = &j;
  for (const char* k : path) {
    if (!p->is_object() || !p->contains(k)) return nullptr;
    p = &(*p)[k];
  }
  return p;
}

std::optional<double> number(const Json& j, std::initializer_list<const char*> path) {
  const Json* p = at(j, path);
  if (p && p->is_number()) return p->get<double>();
  return std::nullopt;
}

std::string text(const Json& j, std::initializer_list<const char*> path) {
  const Json* p = at(j, path);
  if (!p) return "";
  return p->is_string() ? p->get<std::string>() : p->dump();
}

DiffValue one_run(double v) { return {1, v, v, std::nullopt}; }

// A side's cost figures, as the --compare runs take them: s/GB only when it moved bytes,
// softirq only when interrupts were traced (otherwise it reads 0 without meaning 0).
void cost_values(const Json* cost, const std::string& prefix, SideRow& row) {
  if (!cost || text(*cost, {"level"}) == "off" || number(*cost, {"bytes"}).value_or(0) <= 0) return;
  if (auto v = number(*cost, {"derived", "cpu_seconds_per_gb"}))
    row.values[prefix + "cpu_s_per_gb"] = one_run(*v);
  if (auto v = number(*cost, {"derived", "cycles_per_byte"}))
    row.values[prefix + "cycles_per_byte"] = one_run(*v);
  if (cost->contains("attribution"))
    if (auto v = number(*cost, {"derived", "softirq_share"}))
      row.values[prefix + "softirq_share"] = one_run(*v);
}

SideRow single_row(const Json& doc) {
  SideRow row;
  row.send = text(doc, {"start", "test_spec", "send_mode"});
  row.recv = text(doc, {"start", "test_spec", "recv_mode"});
  const Json& end = doc["end"];
  row.values["gbps"] = one_run(*number(end, {"sum_received", "bits_per_second"}) / 1e9);
  bool reverse = text(doc, {"start", "test_spec", "direction"}) == "reverse" ||
                 number(doc, {"start", "test_start", "reverse"}).value_or(0) == 1;
  Side sender = data_sender(reverse ? Direction::kReverse : Direction::kNormal);
  cost_values(at(end, {"cost", side_name(sender)}), "sender_", row);
  cost_values(at(end, {"cost", side_name(other(sender))}), "receiver_", row);
  if (auto v = number(end, {"paths", "send", "copied_share"}))
    row.values["copied_share"] = one_run(*v);
  return row;
}

std::optional<DiffValue> spread_value(const Json& s) {
  if (!s.is_object()) return std::nullopt;
  auto n = number(s, {"n"});
  auto median = number(s, {"median"});
  if (!n || *n < 1 || !median) return std::nullopt;
  DiffValue v{int(*n), number(s, {"mean"}).value_or(*median), *median, std::nullopt};
  if (v.n >= 2) v.ci95 = number(s, {"ci95"});
  return v;
}

SideRow compare_row(const Json& j) {
  SideRow row;
  row.send = text(j, {"send_mode"});
  row.recv = text(j, {"recv_mode"});
  row.nic = text(j, {"nic_setting"});
  row.failures = int(number(j, {"failures"}).value_or(0));
  if (j.contains("unavailable")) return row;
  for (const auto& f : kFigures)
    if (j.contains(f.key))
      if (auto v = spread_value(j[f.key])) row.values[f.key] = *v;
  return row;
}

Expected<DiffKind> kind_of(const Json& doc, const std::string& name) {
  if (doc.is_object() && at(doc, {"compare", "rows"}) && doc["compare"]["rows"].is_array())
    return DiffKind::kCompare;
  if (number(doc, {"end", "sum_received", "bits_per_second"})) return DiffKind::kSingle;
  if (doc.is_object() && doc.contains("error"))
    return usage(name + " holds no result: the test failed (" + text(doc, {"error"}) + ")");
  return usage(name + " is not a nicperf -J result (no end.sum_received and no compare section)");
}

const char* kind_name(DiffKind k) {
  return k == DiffKind::kSingle ? "a single test" : "a --compare/--repeat result";
}

void judge(FigureDiff& f) {
  const DiffValue &a = f.a, &b = f.b;
  if (a.mean != 0) f.change_percent = 100.0 * (b.mean - a.mean) / std::fabs(a.mean);
  if (a.has_interval() && b.has_interval()) {
    bool apart = a.mean + *a.ci95 < b.mean - *b.ci95 || b.mean + *b.ci95 < a.mean - *a.ci95;
    f.verdict = apart ? Verdict::kSignificant : Verdict::kWithinNoise;
  } else {
    bool beyond =
        f.change_percent ? std::fabs(*f.change_percent) >= kRuleOfThumbPercent : b.mean != a.mean;
    f.verdict = beyond ? Verdict::kBeyondRule : Verdict::kLikelyNoise;
  }
  bool real = f.verdict == Verdict::kSignificant || f.verdict == Verdict::kBeyondRule;
  if (!real || f.better == Better::kNeither || a.mean == b.mean) return;
  bool up_is_good = f.better == Better::kHigher;
  f.effect = (b.mean > a.mean) == up_is_good ? Effect::kImprovement : Effect::kRegression;
}

RowDiff diff_row(const SideRow& a, const SideRow& b) {
  RowDiff row;
  row.send_mode = a.send;
  row.recv_mode = a.recv;
  row.nic_setting = a.nic;
  row.label = a.id() == b.id() ? a.id() : a.id() + " vs " + b.id();
  for (const auto& def : kFigures) {
    auto ia = a.values.find(def.key), ib = b.values.find(def.key);
    bool in_a = ia != a.values.end(), in_b = ib != b.values.end();
    if (in_a != in_b) row.missing.push_back({def.key, def.label, in_a ? "A" : "B"});
    if (!in_a || !in_b) continue;
    FigureDiff f;
    f.key = def.key;
    f.label = def.label;
    f.better = def.better;
    f.a = ia->second;
    f.b = ib->second;
    judge(f);
    row.figures.push_back(f);
  }
  return row;
}

void differ_note(const std::string& what, const std::string& a, const std::string& b,
                 DiffResult& d) {
  if (a != b)
    d.notes.push_back("the tests differ in " + what + ": " + (a.empty() ? "?" : a) + " in A, " +
                      (b.empty() ? "?" : b) + " in B");
}

// What differs between the two tests besides the change under study: worth a line, not an error.
void spec_notes(const Json& a, const Json& b, DiffResult& d) {
  for (const char* key : {"direction", "streams", "block_len", "duration", "bytes", "cost"})
    differ_note(key, text(a, {"start", "test_spec", key}), text(b, {"start", "test_spec", key}), d);
  if (text(a, {"start", "test_spec", "direction"}) == "bidir")
    d.notes.push_back(
        "bidir: Gbit/s is the client-to-server direction; snd is the client's cost, rcv the "
        "server's, each covering both directions");
  for (const char* key : {"kernel", "cpu_model", "build_type"})
    differ_note(key, text(a, {"context", key}), text(b, {"context", key}), d);
  for (const auto& [side, doc] : {std::pair{"A", &a}, std::pair{"B", &b}}) {
    if (const Json* i = at(*doc, {"interrupted"}); i && i->is_boolean() && i->get<bool>())
      d.notes.push_back(std::string(side) + " was interrupted: its figures cover what ran before");
    if (doc->contains("error"))
      d.notes.push_back(std::string(side) + " reports an error: " + text(*doc, {"error"}));
  }
}

const SideRow* find_row(const std::vector<SideRow>& rows, const std::string& id) {
  for (const auto& r : rows)
    if (r.id() == id) return &r;
  return nullptr;
}

void failure_note(const SideRow& r, const char* side, DiffResult& d) {
  if (r.failures)
    d.notes.push_back(r.id() + ": " + std::to_string(r.failures) + " failed run(s) in " + side +
                      ", left out");
}

// Rows pair up by send path, receive path and NIC setting; the rest is listed, not guessed at.
Expected<std::vector<RowDiff>> compare_rows(const Json& a, const Json& b, DiffResult& d) {
  std::vector<SideRow> ra, rb;
  for (const auto& j : a["compare"]["rows"]) ra.push_back(compare_row(j));
  for (const auto& j : b["compare"]["rows"]) rb.push_back(compare_row(j));
  std::vector<RowDiff> rows;
  for (const auto& x : ra) {
    const SideRow* y = find_row(rb, x.id());
    if (!y) {
      d.notes.push_back(x.id() + ": only in A");
      continue;
    }
    failure_note(x, "A", d);
    failure_note(*y, "B", d);
    if (x.values.empty() || y->values.empty()) {
      d.notes.push_back(x.id() + ": no successful run in " + (x.values.empty() ? "A" : "B"));
      continue;
    }
    rows.push_back(diff_row(x, *y));
  }
  for (const auto& y : rb)
    if (!find_row(ra, y.id())) d.notes.push_back(y.id() + ": only in B");
  if (rows.empty()) return usage("the two results have no send/receive path row in common");
  return rows;
}

void overall(DiffResult& d) {
  bool better = false, worse = false;
  for (const auto& r : d.rows)
    for (const auto& f : r.figures) {
      better |= f.effect == Effect::kImprovement;
      worse |= f.effect == Effect::kRegression;
      d.rule_of_thumb |= f.verdict == Verdict::kBeyondRule || f.verdict == Verdict::kLikelyNoise;
    }
  d.overall = worse ? Effect::kRegression : better ? Effect::kImprovement : Effect::kNone;
}

// A --json-stream capture: the start and end events make one document.
Json from_events(const std::string& content) {
  Json doc = Json::object();
  std::istringstream lines(content);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json e = Json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object() || !e.contains("event")) return Json();
    std::string event = text(e, {"event"});
    if (event == "start" || event == "end") doc[event] = e["data"];
    if (event == "error") doc["error"] = e["data"];
  }
  if (doc.contains("end") && doc["end"].contains("compare")) return doc["end"];
  if (doc.contains("start") && doc["start"].contains("context"))
    doc["context"] = doc["start"]["context"];
  return doc.empty() ? Json() : doc;
}

}  // namespace

Expected<Json> read_result_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return usage(errno_text("cannot read '" + path + "'", errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string content = ss.str();
  Json j = Json::parse(content, nullptr, false);
  if (!j.is_discarded()) {
    if (text(j, {"event"}) == "end" && j.contains("data")) return j["data"];
    return j;
  }
  Json events = from_events(content);
  if (events.is_null())
    return usage("'" + path + "' is not JSON (a nicperf -J or --json-stream output)");
  return events;
}

Expected<DiffResult> diff_results(const Json& a, const Json& b, const std::string& name_a,
                                  const std::string& name_b) {
  auto ka = kind_of(a, name_a);
  if (!ka) return ka.error();
  auto kb = kind_of(b, name_b);
  if (!kb) return kb.error();
  if (*ka != *kb)
    return usage(name_a + " is " + kind_name(*ka) + " and " + name_b + " " + kind_name(*kb) +
                 ": diff needs two of the same kind");
  DiffResult d;
  d.kind = *ka;
  d.name_a = name_a;
  d.name_b = name_b;
  if (d.kind == DiffKind::kSingle) {
    d.rows.push_back(diff_row(single_row(a), single_row(b)));
  } else {
    auto rows = compare_rows(a, b, d);
    if (!rows) return rows.error();
    d.rows = std::move(*rows);
  }
  spec_notes(a, b, d);
  overall(d);
  return d;
}

// The names follow Verdict's order.
const char* verdict_name(Verdict v) {
  static const char* const names[] = {"significant", "within noise", "beyond rule of thumb",
                                      "likely noise"};
  return names[int(v)];
}

const char* effect_name(Effect e) {
  return e == Effect::kImprovement  ? "improvement"
         : e == Effect::kRegression ? "regression"
                                    : "none";
}

const char* overall_name(Effect e) {
  return e == Effect::kNone ? "no significant change" : effect_name(e);
}

namespace {

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
  return {{"diff",
           {{"kind", d.kind == DiffKind::kSingle ? "single" : "compare"},
            {"a", d.name_a},
            {"b", d.name_b},
            {"rule_of_thumb_percent", kRuleOfThumbPercent},
            {"rows", rows},
            {"notes", d.notes},
            {"verdict", overall_name(d.overall)}}}};
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
