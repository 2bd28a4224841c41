// nicperf diff: two saved results read, paired row by row and judged against the noise.
#include "nicperf/tools/diff.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "nicperf/results/results.hpp"
#include "nicperf/tools/saved_result.hpp"
#include "nicperf/util/units.hpp"
#include "tools/diff/diff_figures.hpp"

namespace nicperf {
namespace {

using diff::kFigures;
using saved::at;
using saved::number;
using saved::text;

// One side's row: its identity and whichever figures it measured.
struct SideRow {
  std::string send, recv, nic;
  int failures = 0;
  std::map<std::string, DiffValue> values;
  std::string id() const { return (nic.empty() ? "" : nic + " ") + send + "/" + recv; }
};

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

}  // namespace

Expected<Json> read_result_file(const std::string& path) {
  auto content = read_saved_text(path);
  if (!content) return content.error();
  auto doc = parse_saved_result(*content, path);
  // A capture with no event in it is no more a result than a line that is not JSON.
  if (!doc || (doc->empty() && !Json::accept(*content)))
    return usage("'" + path + "' is not JSON (a nicperf -J or --json-stream output)");
  return doc;
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
    diff::diff_profiles(a, b, d);
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

}  // namespace nicperf
