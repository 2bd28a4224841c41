// Folding samples into stacks and top functions: pure, so a test can check exact figures.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "nicperf/profile/profile.hpp"

namespace nicperf {
namespace {

using Key = std::pair<FrameGroup, std::string>;

std::vector<ProfileRow> top_rows(const std::map<Key, std::uint64_t>& counts, const Profile& p,
                                 std::size_t top) {
  std::vector<ProfileRow> rows;
  for (const auto& [key, n] : counts) {
    ProfileRow r;
    r.group = key.first;
    r.name = key.second;
    r.samples = n;
    r.share = p.samples ? double(n) / double(p.samples) : 0;
    r.cpu_ns_per_byte = p.bytes ? double(n) * p.ns_per_sample() / double(p.bytes) : 0;
    rows.push_back(std::move(r));
  }
  std::sort(rows.begin(), rows.end(), [](const ProfileRow& a, const ProfileRow& b) {
    return a.samples != b.samples ? a.samples > b.samples : a.name < b.name;
  });
  if (rows.size() > top) rows.resize(top);
  return rows;
}

// A folded line must stay one line of ';'-separated frames ending in a count.
std::string folded_name(const StackFrame& f) {
  std::string n = f.name.empty() ? "[unknown]" : f.name;
  std::replace(n.begin(), n.end(), ';', ':');
  std::replace(n.begin(), n.end(), '\n', ' ');
  return f.kernel ? n + "_[k]" : n;  // perf's mark for kernel frames, which flame graphs read
}

}  // namespace

const char* frame_group_name(FrameGroup g) {
  switch (g) {
    case FrameGroup::kUser:
      return "user";
    case FrameGroup::kKernel:
      return "kernel";
    case FrameGroup::kSoftirq:
      return "softirq";
    case FrameGroup::kHardirq:
      return "hardirq";
  }
  return "?";
}

bool is_softirq_entry(const std::string& n) {
  return n == "__do_softirq" || n == "handle_softirqs" || n == "net_rx_action";
}

bool is_hardirq_entry(const std::string& n) {
  auto starts = [&n](const char* p) { return n.rfind(p, 0) == 0; };
  return n == "common_interrupt" || n == "asm_common_interrupt" || n == "handle_irq_event" ||
         starts("sysvec_") || starts("asm_sysvec_") || starts("__sysvec_");
}

std::vector<FrameGroup> frame_groups(const std::vector<StackFrame>& frames) {
  std::vector<FrameGroup> out(frames.size(), FrameGroup::kUser);
  // Root to leaf: the innermost entry wins (a softirq run on a hardirq's exit is softirq).
  FrameGroup state = FrameGroup::kKernel;
  for (std::size_t i = frames.size(); i-- > 0;) {
    const StackFrame& f = frames[i];
    if (!f.kernel) continue;
    if (is_hardirq_entry(f.name))
      state = FrameGroup::kHardirq;
    else if (is_softirq_entry(f.name))
      state = FrameGroup::kSoftirq;
    out[i] = state;
  }
  return out;
}

Profile fold_samples(const std::vector<ProfileSample>& samples, const FoldWindow& w) {
  Profile p;
  p.rate_hz = w.rate_hz;
  p.bytes = w.bytes;
  p.window_s = double(w.end_ns - std::min(w.begin_ns, w.end_ns)) / 1e9;
  std::map<Key, std::uint64_t> self, inclusive;
  std::set<pid_t> tids;
  for (const auto& s : samples) {
    if (s.time_ns < w.begin_ns || s.time_ns > w.end_ns) {
      ++p.outside;
      continue;
    }
    ++p.samples;
    tids.insert(s.tid);
    std::vector<StackFrame> frames = s.frames;
    if (frames.empty()) frames.push_back({"[unknown]", false});
    auto groups = frame_groups(frames);
    ++p.by_group[std::size_t(groups[0])];
    ++self[{groups[0], frames[0].name}];
    std::set<Key> seen;
    for (std::size_t i = 0; i < frames.size(); ++i)
      if (seen.insert({groups[i], frames[i].name}).second) ++inclusive[{groups[i], frames[i].name}];
    std::string stack;
    for (std::size_t i = frames.size(); i-- > 0;) stack += folded_name(frames[i]) + (i ? ";" : "");
    ++p.folded[stack];
  }
  p.threads = int(tids.size());
  p.top_self = top_rows(self, p, w.top);
  p.top_inclusive = top_rows(inclusive, p, w.top);
  return p;
}

std::string folded_text(const Profile& p, const std::string& side) {
  std::string out;
  for (const auto& [stack, n] : p.folded)
    out += side + ";" + stack + " " + std::to_string(n) + "\n";
  return out;
}

Status write_folded(const std::string& dir, const std::string& name, const Profile& p,
                    const std::string& side) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string path = dir + "/" + name + ".folded";
  std::ofstream out(path);
  out << folded_text(p, side);
  if (!out) return Error{Errc::kSystem, "cannot write " + path + " (--profile-out)"};
  return ok();
}

}  // namespace nicperf
