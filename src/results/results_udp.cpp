// The UDP and --rr parts of the results model: derived totals, and their form in the results
// exchange.
#include <algorithm>

#include "nicperf/results/results.hpp"
#include "results/results_json.hpp"

namespace nicperf {

UdpTotals udp_totals(const StreamPair& p) {
  UdpTotals t;
  const UdpCounts* tx = p.sender && p.sender->udp ? &*p.sender->udp : nullptr;
  const UdpCounts* rx = p.receiver && p.receiver->udp ? &*p.receiver->udp : nullptr;
  if (!tx && !rx) return t;
  t.valid = true;
  if (tx) {
    t.sent = tx->packets + tx->send_drops;  // every sequence number the sender used
    t.send_drops = tx->send_drops;
    t.seconds = p.sender->seconds;
  } else {
    t.sent = rx->fin_packets ? rx->fin_packets : rx->packets + rx->lost;
  }
  if (rx) {
    t.received = rx->packets;
    t.out_of_order = rx->out_of_order;
    t.duplicates = rx->duplicates;
    t.socket_drops = rx->socket_drops;
    t.jitter_ms = rx->jitter_ms;
    if (!tx) t.seconds = p.receiver->seconds;
  }
  t.lost = rx ? t.sent - std::min(t.sent, t.received) : 0;
  return t;
}

UdpTotals udp_sum(const Report& r, bool reverse_group) {
  UdpTotals sum;
  for (int id : stream_ids(r)) {
    if (is_reverse_group(r.spec, id) != reverse_group) continue;
    UdpTotals t = udp_totals(stream_pair(r, id));
    if (!t.valid) continue;
    sum.valid = true;
    sum.sent += t.sent;
    sum.received += t.received;
    sum.lost += t.lost;
    sum.out_of_order += t.out_of_order;
    sum.duplicates += t.duplicates;
    sum.send_drops += t.send_drops;
    sum.socket_drops += t.socket_drops;
    sum.jitter_ms = std::max(sum.jitter_ms, t.jitter_ms);
    sum.seconds = std::max(sum.seconds, t.seconds);
  }
  // The devices belong to the side that sends this group's data.
  const SideEnd* sender = side_end(r, group_sender(r.spec, reverse_group));
  if (sum.valid && sender) sum.device_drops = sender->device_tx_drops;
  return sum;
}

double bytes_per_unit(const TestSpec& spec) {
  return is_udp(spec) ? double(spec.block_len) : is_rr(spec) ? double(spec.req_len) : 0;
}

std::optional<double> cpu_ns_per_unit(const TestSpec& spec, const SideCost* cost) {
  if (!cost || !cost->bytes || bytes_per_unit(spec) == 0) return std::nullopt;
  // Every datagram (request) has the same size, so the cost per byte scales to one.
  return derive(*cost).cpu_ns_per_byte * bytes_per_unit(spec);
}

std::optional<RrCounts> rr_sum(const Report& r) {
  std::optional<RrCounts> sum;
  for (const auto& s : r.local.streams) {
    if (!s.rr) continue;
    if (!sum) sum.emplace();
    sum->transactions += s.rr->transactions;
    sum->latency.merge(s.rr->latency);
    if (s.rr->lost) sum->lost = sum->lost.value_or(0) + *s.rr->lost;
  }
  return sum;
}

Json udp_json(const UdpCounts& u) {
  return {{"packets", u.packets},           {"lost", u.lost},
          {"out_of_order", u.out_of_order}, {"duplicates", u.duplicates},
          {"jitter_ms", u.jitter_ms},       {"send_drops", u.send_drops},
          {"socket_drops", u.socket_drops}, {"fin_packets", u.fin_packets}};
}

UdpCounts udp_from_json(const Json& j) {
  UdpCounts u;
  u.packets = j.at("packets").get<std::uint64_t>();
  u.lost = j.at("lost").get<std::uint64_t>();
  u.out_of_order = j.at("out_of_order").get<std::uint64_t>();
  u.duplicates = j.at("duplicates").get<std::uint64_t>();
  u.jitter_ms = j.at("jitter_ms").get<double>();
  u.send_drops = j.at("send_drops").get<std::uint64_t>();
  u.socket_drops = j.at("socket_drops").get<std::uint64_t>();
  u.fin_packets = j.at("fin_packets").get<std::uint64_t>();
  if (!(u.jitter_ms >= 0 && u.jitter_ms < 1e9)) throw std::range_error("jitter out of range");
  return u;
}

Json rr_json(const RrCounts& rr) {
  Json j = {{"transactions", rr.transactions}, {"latency", rr.latency.to_json()}};
  if (rr.lost) j["lost"] = *rr.lost;
  return j;
}

Expected<RrCounts> rr_from_json(const Json& j) {
  RrCounts rr;
  rr.transactions = j.at("transactions").get<std::uint64_t>();
  auto h = LatencyHistogram::from_json(j.at("latency"));
  if (!h) return h.error();
  rr.latency = std::move(*h);
  if (j.contains("lost")) rr.lost = j.at("lost").get<std::uint64_t>();
  return rr;
}

}  // namespace nicperf
