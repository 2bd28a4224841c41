// A profile's JSON (the report's summary and the results exchange's copy) and its text block.
#include <algorithm>

#include "nicperf/profile/profile.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {
namespace {

using Json = nlohmann::json;

Json rows_json(const std::vector<ProfileRow>& rows) {
  Json a = Json::array();
  for (const auto& r : rows)
    a.push_back({{"function", r.name},
                 {"group", frame_group_name(r.group)},
                 {"samples", r.samples},
                 {"share", r.share},
                 {"cpu_ns_per_byte", r.cpu_ns_per_byte}});
  return a;
}

std::optional<FrameGroup> group_from(const std::string& name) {
  for (std::size_t g = 0; g < kFrameGroups; ++g)
    if (name == frame_group_name(FrameGroup(g))) return FrameGroup(g);
  return std::nullopt;
}

Expected<std::vector<ProfileRow>> rows_from(const Json& a) {
  if (!a.is_array() || a.size() > kMaxProfileRows)
    return Error{Errc::kProtocol, "peer profile has a bad row list"};
  std::vector<ProfileRow> rows;
  for (const auto& j : a) {
    ProfileRow r;
    r.name = j.at("function").get<std::string>().substr(0, 256);
    auto g = group_from(j.at("group").get<std::string>());
    if (!g) return Error{Errc::kProtocol, "peer profile has an unknown frame group"};
    r.group = *g;
    r.samples = j.at("samples").get<std::uint64_t>();
    r.share = j.at("share").get<double>();
    r.cpu_ns_per_byte = j.at("cpu_ns_per_byte").get<double>();
    rows.push_back(std::move(r));
  }
  return rows;
}

// The stacks that fit the results exchange (a control frame is at most 4 MiB): the most
// sampled first, the rest summed into one "[other stacks]" so the totals still add up.
Json folded_json(const Profile& p) {
  constexpr std::size_t kBudget = 1u << 20;
  std::vector<std::pair<std::string, std::uint64_t>> stacks(p.folded.begin(), p.folded.end());
  std::stable_sort(stacks.begin(), stacks.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  Json f = Json::object();
  std::size_t bytes = 0;
  std::uint64_t rest = 0;
  for (const auto& [stack, n] : stacks) {
    if (f.size() + 1 < kMaxFoldedStacks && bytes + stack.size() < kBudget) {
      f[stack] = n;
      bytes += stack.size() + 16;
    } else {
      rest += n;
    }
  }
  if (rest) f["[other stacks]"] = rest;
  return f;
}

std::string pct(double share) { return fixed(100 * share, 1) + "%"; }

std::string padded(std::string s, std::size_t width, bool left = false) {
  if (s.size() > width) s = s.substr(0, width - 1) + "~";
  std::string fill(width - s.size(), ' ');
  return left ? s + fill : fill + s;
}

}  // namespace

Json to_json(const Profile& p, bool with_folded) {
  Json groups = Json::object();
  for (std::size_t g = 0; g < kFrameGroups; ++g)
    groups[frame_group_name(FrameGroup(g))] =
        p.samples ? double(p.by_group[g]) / double(p.samples) : 0.0;
  Json j = {{"event", p.event},
            {"rate_hz", p.rate_hz},
            {"samples", p.samples},
            {"outside_window", p.outside},
            {"lost", p.lost},
            {"threads", p.threads},
            {"window_s", p.window_s},
            {"bytes", p.bytes},
            {"kernel_chains", p.kernel_chains},
            {"groups", groups},
            {"top_self", rows_json(p.top_self)},
            {"top_inclusive", rows_json(p.top_inclusive)},
            {"note", p.note}};
  if (with_folded) j["folded"] = folded_json(p);
  return j;
}

Expected<Profile> profile_from_json(const Json& j) {
  try {
    Profile p;
    p.event = j.at("event").get<std::string>().substr(0, 32);
    p.rate_hz = j.at("rate_hz").get<double>();
    p.samples = j.at("samples").get<std::uint64_t>();
    p.outside = j.at("outside_window").get<std::uint64_t>();
    p.lost = j.at("lost").get<std::uint64_t>();
    p.threads = j.at("threads").get<int>();
    p.window_s = j.at("window_s").get<double>();
    p.bytes = j.at("bytes").get<std::uint64_t>();
    p.kernel_chains = j.at("kernel_chains").get<bool>();
    p.note = j.at("note").get<std::string>().substr(0, 512);
    const Json& groups = j.at("groups");
    for (std::size_t g = 0; g < kFrameGroups; ++g)
      p.by_group[g] = std::uint64_t(
          groups.at(frame_group_name(FrameGroup(g))).get<double>() * double(p.samples) + 0.5);
    auto self = rows_from(j.at("top_self"));
    if (!self) return self.error();
    auto incl = rows_from(j.at("top_inclusive"));
    if (!incl) return incl.error();
    p.top_self = std::move(*self);
    p.top_inclusive = std::move(*incl);
    if (j.contains("folded")) {
      const Json& f = j.at("folded");
      if (!f.is_object() || f.size() > kMaxFoldedStacks)
        return Error{Errc::kProtocol, "peer profile has too many stacks"};
      for (const auto& [stack, n] : f.items())
        p.folded[stack.substr(0, 8192)] = n.get<std::uint64_t>();
    }
    if (!(p.rate_hz > 0 && p.rate_hz < 1e6))
      return Error{Errc::kProtocol, "peer profile has a bad rate"};
    return p;
  } catch (const std::exception& e) {
    return Error{Errc::kProtocol, std::string("peer profile is malformed: ") + e.what()};
  }
}

std::string profile_text(const Profile& p, const std::string& side) {
  std::string out = "Profile (" + side + "): " + p.event + " at " + fixed(p.rate_hz, 0) + " Hz, " +
                    std::to_string(p.samples) + " samples from " + std::to_string(p.threads) +
                    " threads over " + fixed(p.window_s, 2) + " s";
  if (p.lost) out += ", " + std::to_string(p.lost) + " records lost";
  out += "\n  user / kernel / softirq / hardirq: ";
  for (std::size_t g = 0; g < kFrameGroups; ++g)
    out += pct(p.samples ? double(p.by_group[g]) / double(p.samples) : 0) +
           (g + 1 < kFrameGroups ? " / " : "\n");
  auto table = [&](const char* title, const std::vector<ProfileRow>& rows) {
    out += "  " + padded(title, 44, true) + padded("group", 8) + padded("CPU", 8) +
           padded("CPU ns/B", 10) + "\n";
    for (const auto& r : rows)
      out += "    " + padded(r.name, 42, true) + padded(frame_group_name(r.group), 8) +
             padded(pct(r.share), 8) + padded(fixed(r.cpu_ns_per_byte, 4), 10) + "\n";
  };
  table("top functions by self time", p.top_self);
  table("top functions by inclusive time", p.top_inclusive);
  if (!p.note.empty()) out += "  note: " + p.note + "\n";
  return out;
}

}  // namespace nicperf
