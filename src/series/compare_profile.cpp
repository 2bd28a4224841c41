// --compare --profile: one table of kernel functions read across the paths, so the copy one
// path pays and another does not is a single row.
#include <algorithm>
#include <map>
#include <ostream>

#include "nicperf/series/compare.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {
namespace {

using Key = std::pair<FrameGroup, std::string>;

struct Pooled {
  std::uint64_t samples = 0;
  std::map<Key, std::uint64_t> self;
  bool any = false;
};

// Every round of one row's cell, pooled: the shares of the sum, not a median of shares.
Pooled pool(const CompareResult& result, const CompareRow& row, bool sender) {
  Pooled p;
  for (const auto& run : result.runs) {
    if (run.send_mode != row.send_mode || run.recv_mode != row.recv_mode ||
        run.nic_setting != row.nic_setting)
      continue;
    const auto& prof = sender ? run.sender_profile : run.receiver_profile;
    if (!prof || !prof->samples) continue;
    p.any = true;
    p.samples += prof->samples;
    for (const auto& r : prof->top_self)
      if (r.group != FrameGroup::kUser) p.self[{r.group, r.name}] += r.samples;
  }
  return p;
}

std::string cut(std::string s, std::size_t width) {
  if (s.size() >= width) s = s.substr(0, width - 2) + "~";
  return s + std::string(width - s.size(), ' ');
}

}  // namespace

CompareProfile compare_profile(const CompareResult& result, bool sender, std::size_t top) {
  CompareProfile t;
  std::vector<Pooled> cols;
  for (const auto& row : result.rows) {
    if (!row.unavailable.empty()) continue;
    t.columns.push_back((row.nic_setting.empty() ? "" : row.nic_setting + " ") + row.send_mode +
                        "/" + row.recv_mode);
    cols.push_back(pool(result, row, sender));
  }
  // Rank by the largest share any path gives a function: a cost one path alone pays is listed.
  std::map<Key, double> best;
  for (const auto& c : cols)
    for (const auto& [key, n] : c.self)
      best[key] = std::max(best[key], double(n) / double(c.samples));
  std::vector<std::pair<Key, double>> ranked(best.begin(), best.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first.second < b.first.second;
  });
  if (ranked.size() > top) ranked.resize(top);
  for (const auto& [key, share] : ranked) {
    CompareProfile::Row r;
    r.group = key.first;
    r.function = key.second;
    for (const auto& c : cols) {
      if (!c.any) {
        r.share.emplace_back();
        continue;
      }
      auto it = c.self.find(key);
      r.share.emplace_back(it == c.self.end() ? 0.0 : double(it->second) / double(c.samples));
    }
    t.rows.push_back(std::move(r));
  }
  return t;
}

void print_compare_profile(std::ostream& out, const CompareResult& result) {
  for (bool sender : {true, false}) {
    CompareProfile t = compare_profile(result, sender);
    if (t.rows.empty()) continue;
    out << "Profile of the " << (sender ? "sender" : "receiver")
        << ": top kernel functions by self time, % of that side's sampled CPU\n";
    out << "  " << cut("function", 34) << cut("group", 9);
    for (const auto& c : t.columns) out << cut(c, 16);
    out << "\n";
    for (const auto& r : t.rows) {
      out << "  " << cut(r.function, 34) << cut(frame_group_name(r.group), 9);
      for (const auto& s : r.share) out << cut(s ? fixed(100 * *s, 1) + "%" : "-", 16);
      out << "\n";
    }
  }
}

Json compare_profile_json(const CompareResult& result) {
  Json j = Json::object();
  for (bool sender : {true, false}) {
    CompareProfile t = compare_profile(result, sender);
    if (t.rows.empty()) continue;
    Json rows = Json::array();
    for (const auto& r : t.rows) {
      Json share = Json::array();
      for (const auto& s : r.share) share.push_back(s ? Json(*s) : Json());
      rows.push_back(
          {{"function", r.function}, {"group", frame_group_name(r.group)}, {"share", share}});
    }
    j[sender ? "sender" : "receiver"] = {{"columns", t.columns}, {"rows", rows}};
  }
  return j.empty() ? Json() : j;
}

}  // namespace nicperf
