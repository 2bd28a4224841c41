// iperf3 3.12's UDP JSON (iperf_print_results): a stream's "packets" is what its sender sent,
// lost_percent is lost over those, and a sum's jitter is the mean of its streams' jitter.
#include "report/report_udp_json.hpp"

namespace nicperf {
namespace {

double percent(std::uint64_t part, std::uint64_t whole) {
  return whole ? 100.0 * double(part) / double(whole) : 0.0;
}

Json udp_fields(double jitter_ms, std::uint64_t lost, std::uint64_t packets) {
  return {{"jitter_ms", jitter_ms},
          {"lost_packets", lost},
          {"packets", packets},
          {"lost_percent", percent(lost, packets)}};
}

Json stream_udp(const Report& r, int id) {
  StreamPair p = stream_pair(r, id);
  UdpTotals u = udp_totals(p);
  Totals t = sender_totals(p);
  Json j = {{"socket", id + 1},     {"start", t.start}, {"end", t.end},
            {"seconds", t.seconds}, {"bytes", t.bytes}, {"bits_per_second", t.bits_per_second}};
  j.update(udp_fields(u.jitter_ms, u.lost, u.sent));
  j["out_of_order"] = u.out_of_order;
  j["sender"] = local_sends(r, id);
  // nicperf's own figures, beside iperf3's.
  j["packets_received"] = u.received;
  j["duplicates"] = u.duplicates;
  j["send_drops"] = u.send_drops;
  j["socket_drops"] = u.socket_drops;
  return j;
}

// A group's iperf3 figures: the sum of its streams, jitter their mean (as iperf3 averages it).
struct GroupUdp {
  std::uint64_t sent = 0, lost = 0, out_of_order = 0;
  double jitter_ms = 0;
};

GroupUdp group_udp(const Report& r, bool reverse_group) {
  GroupUdp g;
  int n = 0;
  for (int id : stream_ids(r)) {
    if (is_reverse_group(r.spec, id) != reverse_group) continue;
    UdpTotals u = udp_totals(stream_pair(r, id));
    if (!u.valid) continue;
    g.sent += u.sent;
    g.lost += u.lost;
    g.out_of_order += u.out_of_order;
    g.jitter_ms += u.jitter_ms;
    ++n;
  }
  if (n) g.jitter_ms /= n;
  return g;
}

void add_group(Json& end, const Report& r, bool reverse_group) {
  const char* tail = reverse_group ? "_bidir_reverse" : "";
  std::string sent_key = std::string("sum_sent") + tail,
              received_key = std::string("sum_received") + tail,
              sum_key = std::string("sum") + tail;
  if (!end.contains(sent_key) || !end.contains(received_key)) return;
  GroupUdp g = group_udp(r, reverse_group);
  end[sent_key].update(udp_fields(0, 0, g.sent));
  end[received_key].update(udp_fields(g.jitter_ms, g.lost, g.sent));
  Json sum = end[sent_key];
  for (const char* k : {"retransmits"}) sum.erase(k);
  sum.update(udp_fields(g.jitter_ms, g.lost, g.sent));
  sum["out_of_order"] = g.out_of_order;
  sum["sender"] = local_side(r) == group_sender(r.spec, reverse_group);
  end[sum_key] = sum;
}

}  // namespace

void add_iperf3_udp_end(Json& end, const Report& r) {
  for (Json& s : end["streams"]) {
    if (!s.contains("udp") || !s.contains("sender")) continue;
    s["udp"] = stream_udp(r, s["sender"]["socket"].get<int>() - 1);
  }
  add_group(end, r, false);
  if (r.spec.direction == Direction::kBidir) add_group(end, r, true);
}

void add_iperf3_udp_interval(Json& interval, const Report& r, const IntervalRecord& iv) {
  for (bool reverse : {false, true}) {
    const char* key = reverse ? "sum_bidir_reverse" : "sum";
    if (!interval.contains(key)) continue;
    std::uint64_t packets = 0, lost = 0;
    double jitter = 0;
    int n = 0;
    bool receiver = false;
    for (const auto& s : iv.streams) {
      if (!s.udp || is_reverse_group(r.spec, s.id) != reverse) continue;
      packets += s.udp->packets;
      lost += s.udp->lost;
      jitter += s.udp->jitter_ms;
      receiver = !s.sender;
      ++n;
    }
    if (!n) continue;
    Json& sum = interval[key];
    sum["packets"] = packets;
    if (!receiver) continue;
    sum["jitter_ms"] = jitter / n;
    sum["lost_packets"] = lost;
    sum["lost_percent"] = percent(lost, packets + lost);
  }
}

}  // namespace nicperf
