// --compare --profile: one table of kernel functions read across the paths, so the copy one
// path pays and another does not is a single row.
#include "nicperf/series/compare.hpp"

namespace nicperf {
namespace {

// Every round of one row's cell.
ProfileColumn column(const CompareResult& result, const CompareRow& row, bool sender) {
  ProfileColumn c;
  c.name =
      (row.nic_setting.empty() ? "" : row.nic_setting + " ") + row.send_mode + "/" + row.recv_mode;
  for (const auto& run : result.runs) {
    if (run.send_mode != row.send_mode || run.recv_mode != row.recv_mode ||
        run.nic_setting != row.nic_setting)
      continue;
    const auto& prof = sender ? run.sender_profile : run.receiver_profile;
    if (prof) c.profiles.push_back(&*prof);
  }
  return c;
}

}  // namespace

CompareProfile compare_profile(const CompareResult& result, bool sender, std::size_t top) {
  std::vector<ProfileColumn> columns;
  for (const auto& row : result.rows)
    if (row.unavailable.empty()) columns.push_back(column(result, row, sender));
  return profile_table(columns, top);
}

void print_compare_profile(std::ostream& out, const CompareResult& result) {
  for (bool sender : {true, false})
    print_profile_table(out, sender ? "sender" : "receiver", compare_profile(result, sender));
}

Json compare_profile_json(const CompareResult& result) {
  Json j = Json::object();
  for (bool sender : {true, false}) {
    CompareProfile t = compare_profile(result, sender);
    if (!t.rows.empty()) j[sender ? "sender" : "receiver"] = profile_table_json(t);
  }
  return j.empty() ? Json() : j;
}

}  // namespace nicperf
