// The text report's NAPI/softnet block (#15): what each side's host did on its receive path over
// the window, below the cost table.
#include <algorithm>
#include <cstddef>

#include "nicperf/util/units.hpp"
#include "report/reporter_text.hpp"

namespace nicperf {
namespace {

constexpr const char* kBucketNames[kNapiHistBuckets] = {"0",     "1",     "2-3",    "4-7", "8-15",
                                                        "16-31", "32-63", "64-127", "128+"};

// Only the buckets that took polls, "1:120 2-3:40 64-127:9": most polls land in two or three.
std::string histogram_text(const NapiCount& n) {
  std::string out;
  for (std::size_t i = 0; i < n.per_poll.size(); ++i) {
    if (!n.per_poll[i]) continue;
    if (!out.empty()) out += ' ';
    out += std::string(kBucketNames[i]) + ":" + std::to_string(n.per_poll[i]);
  }
  return out.empty() ? "-" : out;
}

std::string share_text(std::uint64_t part, std::uint64_t whole) {
  return whole ? fixed(100.0 * double(part) / double(whole), 1) + "%" : std::string("-");
}

std::string napi_lines(const std::vector<NapiCount>& rows) {
  std::string out = "  " + pad("NAPI device", 16, true) + pad("CPU", 5) + pad("polls", 12) +
                    pad("packets", 13) + pad("pkts/poll", 11) + pad("at budget", 11) +
                    "  polls by packets per poll\n";
  for (const auto& n : rows) {
    double per_poll = n.polls ? double(n.packets) / double(n.polls) : 0.0;
    out += "  " + pad(n.dev, 16, true) + pad(std::to_string(n.cpu), 5) +
           pad(std::to_string(n.polls), 12) + pad(std::to_string(n.packets), 13) +
           pad(fixed(per_poll, 1), 11) + pad(share_text(n.budget_exhausted, n.polls), 11) + "  " +
           histogram_text(n) + "\n";
  }
  return out;
}

std::string softnet_lines(const std::vector<SoftnetCount>& rows) {
  bool rps = std::any_of(rows.begin(), rows.end(),
                         [](const SoftnetCount& s) { return s.received_rps.has_value(); });
  bool flow = std::any_of(rows.begin(), rows.end(),
                          [](const SoftnetCount& s) { return s.flow_limit.has_value(); });
  auto opt = [](const std::optional<std::uint64_t>& v) {
    return v ? std::to_string(*v) : std::string("-");
  };
  std::string out = "  " + pad("softnet", 16, true) + pad("CPU", 5) + pad("processed", 12) +
                    pad("dropped", 10) + pad("time_squeeze", 14) +
                    (rps ? pad("received_rps", 14) : "") + (flow ? pad("flow_limit", 12) : "") +
                    "\n";
  for (const auto& s : rows)
    out += "  " + pad("", 16) + pad(std::to_string(s.cpu), 5) +
           pad(std::to_string(s.processed), 12) + pad(std::to_string(s.dropped), 10) +
           pad(std::to_string(s.time_squeeze), 14) + (rps ? pad(opt(s.received_rps), 14) : "") +
           (flow ? pad(opt(s.flow_limit), 12) : "") + "\n";
  return out;
}

}  // namespace

std::string napi_softnet_block(const std::string& who, const SideCost& c) {
  if (c.napi.empty() && c.softnet.empty()) return "";
  std::string out = "NAPI/softnet, " + who + ":\n";
  if (!c.napi.empty()) out += napi_lines(c.napi);
  if (!c.softnet.empty()) out += softnet_lines(c.softnet);
  return out;
}

std::string napi_softnet_blocks(const Report& r) {
  bool client_sends = data_sender(r.spec) == Side::kClient;
  std::string out;
  if (const SideCost* c = client_cost(r))
    out += napi_softnet_block(client_sends ? "client (sender)" : "client (receiver)", *c);
  if (const SideCost* s = server_cost(r))
    out += napi_softnet_block(client_sends ? "server (receiver)" : "server (sender)", *s);
  return out;
}

}  // namespace nicperf
