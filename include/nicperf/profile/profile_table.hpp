// Kernel functions read across profiles, for --compare --profile (a path per column) and
// nicperf diff (A and B).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nicperf/profile/profile.hpp"

namespace nicperf {

// Kernel functions read across profiles, a column per profile (or per set of profiles, pooled:
// the shares of the summed samples, not a median of shares): the kernel, softirq and hardirq
// frames by self time, ranked by the largest share any column gives them, so a cost one column
// alone pays is listed. --compare --profile puts a path in each column, nicperf diff A and B.
struct ProfileTable {
  std::vector<std::string> columns;
  struct Row {
    std::string function;
    FrameGroup group = FrameGroup::kKernel;
    std::vector<std::optional<double>> share;  // one per column; absent: no profile there
  };
  std::vector<Row> rows;
};
struct ProfileColumn {
  std::string name;
  std::vector<const Profile*> profiles;  // null or sample-less entries are skipped
};
ProfileTable profile_table(const std::vector<ProfileColumn>& columns, std::size_t top);
// "Profile of the TITLE: top kernel functions by self time, % of that side's sampled CPU" and
// the table; nothing when it has no row.
void print_profile_table(std::ostream& out, const std::string& title, const ProfileTable& t);
// {"columns": [...], "rows": [{"function", "group", "share": [x|null, ...]}]}
nlohmann::json profile_table_json(const ProfileTable& t);

}  // namespace nicperf
