// JSON views of the results model. The top level keeps iperf3's shape (start, intervals[], end
// with streams[], sum_sent, sum_received) so iperf3 consumers read it; nicperf adds context.
#include <algorithm>
#include <ctime>

#include "nicperf/report/reporter.hpp"
#include "nicperf/results/context.hpp"
#include "report/report_udp_json.hpp"

namespace nicperf {
namespace {

Json totals_json(const Totals& t, std::optional<int> socket = std::nullopt) {
  Json j;
  if (socket) j["socket"] = *socket;
  j["start"] = t.start;
  j["end"] = t.end;
  j["seconds"] = t.seconds;
  j["bytes"] = t.bytes;
  j["bits_per_second"] = t.bits_per_second;
  if (t.sender) j["retransmits"] = t.retransmits;
  j["sender"] = t.sender;
  return j;
}

Json latency_json(const LatencyHistogram& h) {
  LatencySummary l = summarize(h);
  return {{"count", l.count}, {"mean", l.mean}, {"min", l.min},   {"p50", l.p50},
          {"p90", l.p90},     {"p99", l.p99},   {"p999", l.p999}, {"max", l.max}};
}

Json rr_view(const RrCounts& rr, double seconds) {
  Json j = {{"transactions", rr.transactions},
            {"transactions_per_second", seconds > 0 ? double(rr.transactions) / seconds : 0.0},
            {"latency_ns", latency_json(rr.latency)}};
  if (rr.lost) j["lost_transactions"] = *rr.lost;  // --rr -u only
  return j;
}

void add_udp_sample(Json& j, const UdpCounts& u, bool sender) {
  j["packets"] = u.packets;
  if (sender) {
    j["send_drops"] = u.send_drops;
    return;
  }
  std::uint64_t expected = u.packets + u.lost;
  j["lost_packets"] = u.lost;
  j["lost_percent"] = expected ? 100.0 * double(u.lost) / double(expected) : 0.0;
  j["out_of_order"] = u.out_of_order;
  j["duplicates"] = u.duplicates;
  j["jitter_ms"] = u.jitter_ms;
  j["socket_drops"] = u.socket_drops;
}

Json udp_view(const UdpTotals& t) {
  Json j = {{"packets_sent", t.sent},         {"packets", t.received},
            {"lost_packets", t.lost},         {"lost_percent", 100.0 * t.lost_share()},
            {"out_of_order", t.out_of_order}, {"duplicates", t.duplicates},
            {"jitter_ms", t.jitter_ms},       {"send_drops", t.send_drops},
            {"socket_drops", t.socket_drops}};
  if (t.device_drops) j["device_tx_drops"] = *t.device_drops;
  return j;
}

Json sample_json(const StreamSample& s) {
  Json j = totals_json(sample_totals(s), s.id + 1);
  if (s.udp) add_udp_sample(j, *s.udp, s.sender);
  if (s.rr) j["rr"] = rr_view(*s.rr, s.end - s.start);
  if (s.task_clock_ns && s.end > s.start) {
    j["cpu_task_clock_ns"] = *s.task_clock_ns;
    j["cpu_percent"] = 100.0 * *s.task_clock_ns / ((s.end - s.start) * 1e9);
  }
  if (s.sender && s.tcp.valid) {
    j["snd_cwnd"] = s.tcp.snd_cwnd;
    j["snd_wnd"] = s.tcp.snd_wnd;
    j["rtt"] = s.tcp.rtt_us;
    j["rttvar"] = s.tcp.rttvar_us;
    j["pmtu"] = s.tcp.pmtu;
  }
  j["omitted"] = s.omitted;
  return j;
}

Json stream_end_json(const Report& r, int id) {
  StreamPair p = stream_pair(r, id);
  Json j;
  Json sender = totals_json(sender_totals(p), id + 1);
  if (p.sender) {
    sender["max_snd_cwnd"] = p.sender->max_snd_cwnd;
    sender["max_snd_wnd"] = p.sender->max_snd_wnd;
    sender["max_rtt"] = p.sender->max_rtt;
    sender["min_rtt"] = p.sender->min_rtt;
    sender["mean_rtt"] = p.sender->mean_rtt;
  }
  j["sender"] = sender;
  j["receiver"] = totals_json(receiver_totals(p), id + 1);
  if (UdpTotals u = udp_totals(p); u.valid) j["udp"] = udp_view(u);
  if (p.sender && p.sender->rr) j["rr"] = rr_view(*p.sender->rr, p.sender->seconds);
  return j;
}

Json cpu_json(const Report& r) {
  auto pick = [](const std::optional<SideEnd>& s) { return s ? s->cpu : CpuUsage{}; };
  CpuUsage host = r.local.cpu, remote = pick(r.remote);
  return {{"host_total", host.total},   {"host_user", host.user},
          {"host_system", host.system}, {"remote_total", remote.total},
          {"remote_user", remote.user}, {"remote_system", remote.system}};
}

Json paths_json(const Report& r) {
  PathTotals t = path_totals(r);
  Json send = {{"mode", r.spec.send_mode}};
  if (t.send.zerocopy_completions) {
    send["zerocopy_completions"] = t.send.zerocopy_completions;
    send["zerocopy_copied"] = t.send.zerocopy_copied;
    send["copied_share"] = *t.copied_share();
  }
  Json recv = {{"mode", r.spec.recv_mode}};
  if (t.recv.mapped_bytes + t.recv.copied_bytes) {
    recv["mapped_bytes"] = t.recv.mapped_bytes;
    recv["copied_bytes"] = t.recv.copied_bytes;
    recv["mapped_share"] = *t.mapped_share();
  }
  return {{"send", send}, {"recv", recv}};
}

// --profile: each side's summary (its folded stacks go to --profile-out files only).
Json profile_json(const Report& r) {
  Json j = Json::object();
  for (Side s : {Side::kClient, Side::kServer})
    if (const SideEnd* e = side_end(r, s); e && e->profile)
      j[side_name(s)] = to_json(*e->profile, false);
  return j;
}

}  // namespace

Json thresholds_json(const Report& r) {
  Json out = Json::array();
  for (const auto& t : r.thresholds) {
    Json j = {{"name", t.name}, {"limit", t.limit}, {"passed", t.passed}};
    j["value"] = t.value ? Json(*t.value) : Json();
    if (!t.note.empty()) j["note"] = t.note;
    out.push_back(j);
  }
  return out;
}

Json start_json(const Report& r) {
  Json connected = Json::array();
  for (const auto& e : r.start.connected)
    connected.push_back({{"socket", e.id + 1},
                         {"local_host", e.local_host},
                         {"local_port", e.local_port},
                         {"remote_host", e.remote_host},
                         {"remote_port", e.remote_port}});
  char when[64] = "";
  std::time_t t = r.start.timesecs;
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  const TestSpec& s = r.spec;
  Json j = {{"connected", connected},
            {"version", "nicperf " + nicperf_version()},
            {"system_info", system_info()},
            {"timestamp", {{"time", when}, {"timesecs", r.start.timesecs}}},
            {"cookie", r.start.cookie},
            {"tcp_mss_default", r.start.tcp_mss_default},
            {"sock_bufsize", s.window},
            {"sndbuf_actual", r.start.sndbuf_actual},
            {"rcvbuf_actual", r.start.rcvbuf_actual},
            {"test_start",
             {{"protocol", uses_udp(s) ? "UDP" : "TCP"},
              {"num_streams", s.streams},
              {"blksize", s.block_len},
              {"omit", s.omit},
              {"duration", s.bytes ? 0.0 : s.duration},
              {"bytes", s.bytes},
              {"blocks", 0},
              {"reverse", s.direction == Direction::kReverse ? 1 : 0},
              {"bidir", s.direction == Direction::kBidir ? 1 : 0},
              {"tos", 0},
              {"target_bitrate", s.rate},
              {"fqrate", s.fq_rate},
              {"interval", s.interval},
              {"send_mode", s.send_mode},
              {"recv_mode", s.recv_mode}}},
            {"test_spec", to_json(s)}};
  if (r.is_client)
    j["connecting_to"] = {{"host", r.start.host}, {"port", r.start.port}};
  else
    j["accepted_connection"] = {{"host", r.start.host}, {"port", r.start.port}};
  return j;
}

namespace {

// One side's interval CPU as % of one CPU over its own interval.
Json interval_cpu_view(const IntervalCpu& c) {
  double wall_ns = std::max(c.end - c.start, 1e-9) * 1e9;
  Json j = {{"start", c.start},
            {"end", c.end},
            {"user_percent", 100.0 * c.user_ns / wall_ns},
            {"kernel_percent", 100.0 * c.kernel_ns / wall_ns}};
  if (c.softirq_ns) j["softirq_percent"] = 100.0 * *c.softirq_ns / wall_ns;
  if (c.hardirq_ns) j["hardirq_percent"] = 100.0 * *c.hardirq_ns / wall_ns;
  return j;
}

// Both sides' CPU in interval `iv`: the local side's own, the peer's by position in the series
// it sent back (absent from older peers and until the results exchange).
Json interval_cpu_sides(const Report& r, const IntervalRecord& iv) {
  Json j = Json::object();
  if (iv.cpu) j[side_name(local_side(r))] = interval_cpu_view(*iv.cpu);
  std::size_t index = std::size_t(&iv - r.intervals.data());
  if (r.remote && &iv >= r.intervals.data() && index < r.intervals.size() &&
      index < r.remote->interval_cpu.size())
    j[side_name(other(local_side(r)))] = interval_cpu_view(r.remote->interval_cpu[index]);
  return j;
}

}  // namespace

Json interval_json(const Report& r, const IntervalRecord& iv) {
  Json streams = Json::array();
  for (const auto& s : iv.streams) streams.push_back(sample_json(s));
  Json j = {{"streams", streams}};
  j["sum"] = totals_json(interval_sum(r, iv, false));
  j["sum"]["omitted"] = !iv.streams.empty() && iv.streams.front().omitted;
  if (r.spec.direction == Direction::kBidir) {
    j["sum_bidir_reverse"] = totals_json(interval_sum(r, iv, true));
    j["sum_bidir_reverse"]["omitted"] = j["sum"]["omitted"];
  }
  if (is_udp(r.spec)) add_iperf3_udp_interval(j, r, iv);
  if (Json cpu = interval_cpu_sides(r, iv); !cpu.empty()) j["cpu"] = cpu;
  return j;
}

Json end_json(const Report& r) {
  Json streams = Json::array();
  for (int id : stream_ids(r)) streams.push_back(stream_end_json(r, id));
  Json j = {{"streams", streams},
            {"sum_sent", totals_json(sum_sent(r, false))},
            {"sum_received", totals_json(sum_received(r, false))}};
  if (r.spec.direction == Direction::kBidir) {
    j["sum_sent_bidir_reverse"] = totals_json(sum_sent(r, true));
    j["sum_received_bidir_reverse"] = totals_json(sum_received(r, true));
  }
  if (UdpTotals u = udp_sum(r, false); u.valid) j["sum_udp"] = udp_view(u);
  if (UdpTotals u = udp_sum(r, true); u.valid && r.spec.direction == Direction::kBidir)
    j["sum_udp_bidir_reverse"] = udp_view(u);
  if (is_udp(r.spec)) add_iperf3_udp_end(j, r);
  if (auto rr = rr_sum(r)) j["sum_rr"] = rr_view(*rr, sum_sent(r, false).seconds);
  j["cpu_utilization_percent"] = cpu_json(r);
  j["paths"] = paths_json(r);
  Json cost = Json::object();
  if (const SideCost* c = client_cost(r)) cost["client"] = to_json(*c);
  if (const SideCost* s = server_cost(r)) cost["server"] = to_json(*s);
  j["cost"] = cost;
  if (bytes_per_unit(r.spec) > 0) {
    Json per = Json::object();
    if (auto ns = cpu_ns_per_unit(r.spec, client_cost(r))) per["client"] = *ns;
    if (auto ns = cpu_ns_per_unit(r.spec, server_cost(r))) per["server"] = *ns;
    j[is_udp(r.spec) ? "cpu_ns_per_datagram" : "cpu_ns_per_transaction"] = per;
  }
  if (r.nic) j["nic"] = nic::to_json(*r.nic);
  if (Json p = profile_json(r); !p.empty()) j["profile"] = p;
  if (!r.nic_error.empty()) j["nic"] = {{"error", r.nic_error}};
  Json nic_dev = Json::object();
  for (Side s : {Side::kClient, Side::kServer})
    if (const SideEnd* e = side_end(r, s); e && e->nic_dev)
      nic_dev[side_name(s)] = nic::to_json(*e->nic_dev);
  if (!nic_dev.empty()) j["nic_dev"] = nic_dev;
  if (const Overlap* o = server_overlap(r)) {
    j["overlapping_tests"] = o->tests;
    j["overlapping_peers"] = o->peers;
  }
  bool sends = local_sends(r);
  std::string remote_cc = r.remote ? r.remote->congestion : "";
  j["sender_tcp_congestion"] = sends ? r.local.congestion : remote_cc;
  j["receiver_tcp_congestion"] = sends ? remote_cc : r.local.congestion;
  return j;
}

Json report_json(const Report& r) {
  Json j;
  j["start"] = start_json(r);
  j["intervals"] = Json::array();
  for (const auto& iv : r.intervals) j["intervals"].push_back(interval_json(r, iv));
  j["end"] = (r.local.streams.empty() && !r.remote) ? Json::object() : end_json(r);
  j["context"] = r.context;
  if (!r.remote_context.is_null()) j["remote_context"] = r.remote_context;
  if (!r.server_output_text.empty()) j["server_output_text"] = r.server_output_text;
  if (!r.server_output_json.is_null()) j["server_output_json"] = r.server_output_json;
  if (r.interrupted) j["interrupted"] = true;
  if (r.error) j["error"] = r.error->message;
  if (!r.thresholds.empty()) j["thresholds"] = thresholds_json(r);
  if (!r.extra_data.empty()) j["extra_data"] = r.extra_data;
  return j;
}

}  // namespace nicperf
