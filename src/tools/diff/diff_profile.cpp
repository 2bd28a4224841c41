// nicperf diff on two profiled single tests: where each side's kernel time went in A and in B,
// one row per function, so a change in throughput or CPU per byte comes with its cause.
#include "nicperf/profile/profile_table.hpp"
#include "nicperf/tools/saved_result.hpp"
#include "tools/diff/diff_figures.hpp"

namespace nicperf::diff {
namespace {

std::optional<Profile> side_profile(const Json& doc, const char* side) {
  const Json* j = saved::at(doc, {"end", "profile", side});
  if (!j) return std::nullopt;
  auto p = profile_from_json(*j);
  return p ? std::optional<Profile>(std::move(*p)) : std::nullopt;
}

}  // namespace

void diff_profiles(const Json& a, const Json& b, DiffResult& d) {
  std::string direction = saved::text(a, {"start", "test_spec", "direction"});
  for (const char* side : {"client", "server"}) {
    auto pa = side_profile(a, side), pb = side_profile(b, side);
    if (!pa && !pb) continue;
    ProfileTable t = profile_table({{"A", {pa ? &*pa : nullptr}}, {"B", {pb ? &*pb : nullptr}}},
                                   kProfileTopRows);
    if (t.rows.empty()) continue;
    bool sends = (std::string(side) == "client") == (direction != "reverse");
    std::string role = direction == "bidir" ? "" : sends ? " (sender)" : " (receiver)";
    d.profiles.emplace_back(side + role, std::move(t));
  }
}

}  // namespace nicperf::diff
