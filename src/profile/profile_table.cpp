// Kernel functions read across profiles: the copy one path (or one build) pays and another does
// not is a single row.
#include <algorithm>
#include <map>
#include <ostream>

#include "nicperf/profile/profile_table.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {
namespace {

using Key = std::pair<FrameGroup, std::string>;

struct Pooled {
  std::uint64_t samples = 0;
  std::map<Key, std::uint64_t> self;
  bool any = false;
};

Pooled pool(const ProfileColumn& column) {
  Pooled p;
  for (const Profile* prof : column.profiles) {
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

ProfileTable profile_table(const std::vector<ProfileColumn>& columns, std::size_t top) {
  ProfileTable t;
  std::vector<Pooled> cols;
  for (const auto& c : columns) {
    t.columns.push_back(c.name);
    cols.push_back(pool(c));
  }
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
    ProfileTable::Row r;
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

void print_profile_table(std::ostream& out, const std::string& title, const ProfileTable& t) {
  if (t.rows.empty()) return;
  out << "Profile of the " << title
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

nlohmann::json profile_table_json(const ProfileTable& t) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : t.rows) {
    nlohmann::json share = nlohmann::json::array();
    for (const auto& s : r.share) share.push_back(s ? nlohmann::json(*s) : nlohmann::json());
    rows.push_back(
        {{"function", r.function}, {"group", frame_group_name(r.group)}, {"share", share}});
  }
  return {{"columns", t.columns}, {"rows", rows}};
}

}  // namespace nicperf
