// `nicperf diff A.json B.json`: the change between two saved -J results and whether it exceeds
// the noise. diff_results() turns two documents into one DiffResult; the text table and the
// JSON are views of it.
//
// With --repeat/--compare results (n >= 2 runs on both sides) a figure's change is significant
// when the 95% confidence intervals of the two means do not overlap. Single tests carry no noise
// estimate, so a fixed rule of thumb stands in: a change under kRuleOfThumbPercent is reported
// as likely noise.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/profile/profile_table.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

inline constexpr double kRuleOfThumbPercent = 5.0;

enum class DiffKind { kSingle, kCompare };
// Which way is better; shares (softirq, copied) are shown but judged neither way.
enum class Better { kHigher, kLower, kNeither };
enum class Verdict {
  kSignificant,  // the 95% intervals do not overlap
  kWithinNoise,  // they overlap
  kBeyondRule,   // no noise estimate; the change is kRuleOfThumbPercent or more
  kLikelyNoise,  // no noise estimate; the change is under kRuleOfThumbPercent
};
enum class Effect { kNone, kImprovement, kRegression };

// One figure on one side: a single test's value, or a --repeat row's spread.
struct DiffValue {
  int n = 0;
  double mean = 0, median = 0;
  std::optional<double> ci95;  // half-width, only from n >= 2 runs
  bool has_interval() const { return n >= 2 && ci95.has_value(); }
};

struct FigureDiff {
  std::string key;    // "gbps", "sender_cpu_s_per_gb", ...
  std::string label;  // "Gbit/s", "CPU s/GB snd", ...
  Better better = Better::kNeither;
  DiffValue a, b;
  std::optional<double> change_percent;  // (B - A) / A of the means; absent when A is 0
  Verdict verdict = Verdict::kLikelyNoise;
  Effect effect = Effect::kNone;  // only for significant or beyond-rule changes
};

// A figure measured on one side only (cycles need a PMU, softirq needs --cost full).
struct MissingFigure {
  std::string key, label;
  std::string only_in;  // "A" or "B"
};

struct RowDiff {
  std::string label;  // "write/read", "rx-usecs=50 write/read", or "write/read vs sendfile/read"
  std::string send_mode, recv_mode, nic_setting;
  std::vector<FigureDiff> figures;
  std::vector<MissingFigure> missing;
};

struct DiffResult {
  DiffKind kind = DiffKind::kSingle;
  std::string name_a, name_b;
  std::vector<RowDiff> rows;
  std::vector<std::string> notes;  // unmatched rows, differing test specs, interrupted runs
  Effect overall = Effect::kNone;  // any regression wins over improvements
  bool rule_of_thumb = false;      // some verdict had no noise estimate
  // Two single tests run with --profile: per side ("client (sender)", ...) the top kernel
  // functions with A and B as columns.
  std::vector<std::pair<std::string, ProfileTable>> profiles;
};

// Errors are usage errors (Errc::kUsage): not a result, mixed kinds, no row in common.
Expected<DiffResult> diff_results(const Json& a, const Json& b, const std::string& name_a = "A",
                                  const std::string& name_b = "B");

// A saved result from a file, read by parse_saved_result (tools/saved_result.hpp); what is not
// one is "'path' is not JSON (a nicperf -J or --json-stream output)".
Expected<Json> read_result_file(const std::string& path);

const char* verdict_name(Verdict v);
const char* effect_name(Effect e);   // "improvement", "regression", "none"
const char* overall_name(Effect e);  // "improvement", "regression", "no significant change"

Json diff_json(const DiffResult& d);
void print_diff(std::ostream& out, const DiffResult& d);

// The `nicperf diff` subcommand; args exclude "diff" itself. Returns the exit code.
int run_diff_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace nicperf
