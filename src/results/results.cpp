#include "nicperf/results/results.hpp"

#include <algorithm>
#include <set>

#include "results/results_json.hpp"

namespace nicperf {
namespace {

double rate(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? double(bytes) * 8.0 / seconds : 0.0;
}

const StreamEnd* find_end(const SideEnd& side, int id, bool sender) {
  for (const auto& s : side.streams)
    if (s.id == id && s.sender == sender) return &s;
  return nullptr;
}

void add(Totals& sum, const Totals& t) {
  sum.bytes += t.bytes;
  sum.retransmits += t.retransmits;
  sum.start = std::min(sum.start, t.start);
  sum.end = std::max(sum.end, t.end);
}

template <class Pick>
Totals group_sum(const Report& r, bool reverse_group, bool sender, Pick pick) {
  Totals sum;
  sum.sender = sender;
  for (int id : stream_ids(r)) {
    if (is_reverse_group(r.spec, id) != reverse_group) continue;
    add(sum, pick(stream_pair(r, id)));
  }
  sum.seconds = sum.end - sum.start;
  sum.bits_per_second = rate(sum.bytes, sum.seconds);
  return sum;
}

// Optional in the results exchange: peers from before --max-tests send none.
Expected<Overlap> overlap_from_json(const Json& j) {
  Overlap o;
  o.tests = j.at("tests").get<int>();
  const auto& peers = j.at("peers");
  if (o.tests < 0 || o.tests > 1000000 || !peers.is_array() || peers.size() > kMaxOverlapPeers)
    return Error{Errc::kProtocol, "peer results have a bad overlap"};
  for (const auto& p : peers) o.peers.push_back(p.get<std::string>().substr(0, 64));
  return o;
}

}  // namespace

bool is_reverse_group(const TestSpec& spec, int id) {
  return spec.direction == Direction::kBidir && !client_sends(spec, id);
}

Totals sample_totals(const StreamSample& s) {
  Totals t;
  t.start = s.start;
  t.end = s.end;
  t.seconds = s.end - s.start;
  t.bytes = s.bytes;
  t.bits_per_second = rate(s.bytes, t.seconds);
  t.retransmits = s.retransmits;
  t.sender = s.sender;
  t.omitted = s.omitted;
  return t;
}

Totals interval_sum(const Report& r, const IntervalRecord& iv, bool reverse_group) {
  Totals sum;
  bool first = true;
  for (const auto& s : iv.streams) {
    if (is_reverse_group(r.spec, s.id) != reverse_group) continue;
    Totals t = sample_totals(s);
    if (first) {
      sum = t;
      first = false;
      continue;
    }
    sum.bytes += t.bytes;
    sum.retransmits += t.retransmits;
    sum.start = std::min(sum.start, t.start);
    sum.end = std::max(sum.end, t.end);
  }
  sum.seconds = sum.end - sum.start;
  sum.bits_per_second = rate(sum.bytes, sum.seconds);
  return sum;
}

std::vector<int> stream_ids(const Report& r) {
  std::set<int> ids;
  for (const auto& s : r.local.streams) ids.insert(s.id);
  if (r.remote)
    for (const auto& s : r.remote->streams) ids.insert(s.id);
  return {ids.begin(), ids.end()};
}

StreamPair stream_pair(const Report& r, int id) {
  StreamPair p;
  Side sender = data_sender(r.spec, id);
  const SideEnd* tx = side_end(r, sender);
  const SideEnd* rx = side_end(r, other(sender));
  p.sender = tx ? find_end(*tx, id, true) : nullptr;
  p.receiver = rx ? find_end(*rx, id, false) : nullptr;
  return p;
}

Totals sender_totals(const StreamPair& p) {
  Totals t;
  t.sender = true;
  if (!p.sender) return t;
  std::uint64_t omitted = p.sender->net_of_omit ? 0 : p.sender->bytes_omitted;
  t.bytes = p.sender->bytes_total - std::min(omitted, p.sender->bytes_total);
  t.end = t.seconds = p.sender->seconds;
  t.bits_per_second = rate(t.bytes, t.seconds);
  t.retransmits = p.sender->retransmits;
  return t;
}

Totals receiver_totals(const StreamPair& p) {
  Totals t;
  if (!p.receiver) return t;
  // TCP is one byte stream: the receiver's measured bytes start where the sender's omit ended.
  std::uint64_t omitted = p.sender ? p.sender->bytes_omitted : p.receiver->bytes_omitted;
  if (p.receiver->net_of_omit) omitted = 0;
  t.bytes = p.receiver->bytes_total - std::min(omitted, p.receiver->bytes_total);
  t.end = t.seconds = p.receiver->seconds;
  t.bits_per_second = rate(t.bytes, t.seconds);
  return t;
}

Totals sum_sent(const Report& r, bool reverse_group) {
  return group_sum(r, reverse_group, true, sender_totals);
}

Totals sum_received(const Report& r, bool reverse_group) {
  return group_sum(r, reverse_group, false, receiver_totals);
}

PathTotals path_totals(const Report& r) {
  PathTotals t;
  auto add_stats = [](PathStats& to, const PathStats& from) {
    to.zerocopy_completions += from.zerocopy_completions;
    to.zerocopy_copied += from.zerocopy_copied;
    to.mapped_bytes += from.mapped_bytes;
    to.copied_bytes += from.copied_bytes;
  };
  for (int id : stream_ids(r)) {
    StreamPair p = stream_pair(r, id);
    if (p.sender) add_stats(t.send, p.sender->path);
    if (p.receiver) add_stats(t.recv, p.receiver->path);
  }
  return t;
}

std::vector<Threshold> check_thresholds(const Report& r, const Expectations& e) {
  std::vector<Threshold> out;
  auto add = [&](const std::string& name, double limit, std::optional<double> value, bool at_least,
                 const std::string& missing) {
    Threshold t{name, limit, value, false, ""};
    if (!value)
      t.note = missing;
    else
      t.passed = at_least ? *value >= limit : *value <= limit;
    out.push_back(t);
  };
  if (e.min_gbps)
    add("min_gbps", *e.min_gbps, sum_received(r, false).bits_per_second / 1e9, true, "");
  for (const char* side : {"client", "server"}) {
    const SideCost* c = std::string(side) == "client" ? client_cost(r) : server_cost(r);
    std::optional<DerivedCost> d;
    if (c && c->bytes) d = derive(*c);
    if (e.max_cycles_per_byte)
      add(std::string("max_cycles_per_byte.") + side, *e.max_cycles_per_byte,
          d ? d->cycles_per_byte : std::nullopt, false,
          c && !c->hardware_reason.empty() ? c->hardware_reason : "no cost figures from this side");
    if (e.max_cpu_s_per_gb)
      add(std::string("max_cpu_s_per_gb.") + side, *e.max_cpu_s_per_gb,
          d ? std::optional<double>(d->cpu_ns_per_byte) : std::nullopt, false,
          "no cost figures from this side");
  }
  if (e.max_copied_share) {
    add("max_copied_share", *e.max_copied_share, path_totals(r).copied_share(), false,
        "the send path reported no zero-copy completions");
  }
  return out;
}

Json to_json(const SideEnd& side) {
  Json streams = Json::array();
  for (const auto& s : side.streams) {
    streams.push_back({{"id", s.id},
                       {"sender", s.sender},
                       {"bytes_total", s.bytes_total},
                       {"bytes_omitted", s.bytes_omitted},
                       {"seconds", s.seconds},
                       {"retransmits", s.retransmits},
                       {"max_snd_cwnd", s.max_snd_cwnd},
                       {"max_snd_wnd", s.max_snd_wnd},
                       {"max_rtt", s.max_rtt},
                       {"min_rtt", s.min_rtt},
                       {"mean_rtt", s.mean_rtt},
                       {"zerocopy_completions", s.path.zerocopy_completions},
                       {"zerocopy_copied", s.path.zerocopy_copied},
                       {"mapped_bytes", s.path.mapped_bytes},
                       {"copied_bytes", s.path.copied_bytes},
                       {"error", s.error}});
    if (s.udp) streams.back()["udp"] = udp_json(*s.udp);
    if (s.rr) streams.back()["rr"] = rr_json(*s.rr);
  }
  Json j = {{"streams", streams},
            {"cpu",
             {{"valid", side.cpu.valid},
              {"total", side.cpu.total},
              {"user", side.cpu.user},
              {"system", side.cpu.system}}},
            {"congestion", side.congestion}};
  if (side.cost) j["cost"] = to_json(*side.cost);
  if (side.device_tx_drops) j["device_tx_drops"] = *side.device_tx_drops;
  if (side.nic_dev) j["nic_dev"] = nic::to_json(*side.nic_dev);
  if (side.overlap) j["overlap"] = {{"tests", side.overlap->tests}, {"peers", side.overlap->peers}};
  if (side.profile) j["profile"] = to_json(*side.profile, true);
  if (!side.interval_cpu.empty()) j["interval_cpu"] = interval_cpu_json(side.interval_cpu);
  return j;
}

Expected<SideEnd> side_from_json(const Json& j, std::size_t max_streams) {
  // The peer's figures are input like any other: check every type, bound every size.
  try {
    SideEnd side;
    const auto& streams = j.at("streams");
    if (!streams.is_array() || streams.size() > max_streams)
      return Error{Errc::kProtocol, "peer results have a bad stream list"};
    for (const auto& s : streams) {
      StreamEnd e;
      e.id = s.at("id").get<int>();
      e.sender = s.at("sender").get<bool>();
      e.bytes_total = s.at("bytes_total").get<std::uint64_t>();
      e.bytes_omitted = s.at("bytes_omitted").get<std::uint64_t>();
      e.seconds = s.at("seconds").get<double>();
      e.retransmits = s.at("retransmits").get<std::uint32_t>();
      e.max_snd_cwnd = s.at("max_snd_cwnd").get<std::uint64_t>();
      e.max_snd_wnd = s.at("max_snd_wnd").get<std::uint64_t>();
      e.max_rtt = s.at("max_rtt").get<std::uint32_t>();
      e.min_rtt = s.at("min_rtt").get<std::uint32_t>();
      e.mean_rtt = s.at("mean_rtt").get<std::uint32_t>();
      e.path.zerocopy_completions = s.at("zerocopy_completions").get<std::uint64_t>();
      e.path.zerocopy_copied = s.at("zerocopy_copied").get<std::uint64_t>();
      e.path.mapped_bytes = s.at("mapped_bytes").get<std::uint64_t>();
      e.path.copied_bytes = s.at("copied_bytes").get<std::uint64_t>();
      e.error = s.at("error").get<std::string>().substr(0, 512);
      if (s.contains("udp")) e.udp = udp_from_json(s.at("udp"));
      if (s.contains("rr")) {
        auto rr = rr_from_json(s.at("rr"));
        if (!rr) return rr.error();
        e.rr = std::move(*rr);
      }
      if (e.id < 0 || std::size_t(e.id) >= max_streams || !(e.seconds >= 0 && e.seconds < 1e7))
        return Error{Errc::kProtocol, "peer results have a stream out of range"};
      side.streams.push_back(std::move(e));
    }
    const auto& cpu = j.at("cpu");
    side.cpu = {cpu.at("valid").get<bool>(), cpu.at("total").get<double>(),
                cpu.at("user").get<double>(), cpu.at("system").get<double>()};
    side.congestion = j.at("congestion").get<std::string>().substr(0, 32);
    if (j.contains("cost")) {
      auto cost = cost_from_json(j.at("cost"));
      if (!cost) return cost.error();
      side.cost = std::move(*cost);
    }
    if (j.contains("device_tx_drops"))
      side.device_tx_drops = j.at("device_tx_drops").get<std::uint64_t>();
    if (j.contains("nic_dev")) {
      auto dev = nic::nic_dev_from_json(j.at("nic_dev"));
      if (!dev) return dev.error();
      side.nic_dev = std::move(*dev);
    }
    if (j.contains("overlap")) {
      auto overlap = overlap_from_json(j.at("overlap"));
      if (!overlap) return overlap.error();
      side.overlap = std::move(*overlap);
    }
    if (j.contains("profile")) {
      auto profile = profile_from_json(j.at("profile"));
      if (!profile) return profile.error();
      side.profile = std::move(*profile);
    }
    if (j.contains("interval_cpu")) {
      auto series = interval_cpu_from_json(j.at("interval_cpu"));
      if (!series) return series.error();
      side.interval_cpu = std::move(*series);
    }
    return side;
  } catch (const std::exception& e) {
    return Error{Errc::kProtocol, std::string("peer results are malformed: ") + e.what()};
  }
}

}  // namespace nicperf
