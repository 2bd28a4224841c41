// The text views of UDP and --rr results.
#include <sstream>

#include "nicperf/util/units.hpp"
#include "report/reporter_text.hpp"

namespace nicperf {
namespace {

std::string loss_text(std::uint64_t lost, std::uint64_t total) {
  double pct = total ? 100.0 * double(lost) / double(total) : 0.0;
  return pad(std::to_string(lost) + "/" + std::to_string(total), 17) + " (" +
         fixed(pct, pct < 0.01 && pct > 0 ? 4 : 2) + "%)";
}

// --rr -u: the transactions that timed out, and the share of all requests sent.
std::string udp_rr_lost_line(const RrCounts& sum) {
  std::uint64_t sent = sum.transactions + *sum.lost;
  double pct = sent ? 100.0 * double(*sum.lost) / double(sent) : 0.0;
  return "Lost transactions: " + std::to_string(*sum.lost) + " of " + std::to_string(sent) + " (" +
         fixed(pct, 2) + "%; no response within 10x the running p99, bounded to 1 ms..1 s).\n";
}

std::string udp_receiver_columns(const UdpTotals& u) {
  std::string s = "  " + pad(fixed(u.jitter_ms, 3) + " ms", 10) + loss_text(u.lost, u.sent);
  if (u.out_of_order) s += "  " + std::to_string(u.out_of_order) + " out of order";
  if (u.duplicates) s += "  " + std::to_string(u.duplicates) + " duplicates";
  return s;
}

std::string latency_columns(const LatencyHistogram& h) {
  LatencySummary l = summarize(h);
  return pad(format_latency(l.p50), 10) + pad(format_latency(l.p90), 10) +
         pad(format_latency(l.p99), 10) + pad(format_latency(l.p999), 10) +
         pad(format_latency(l.max), 10);
}

std::string rr_rate(std::uint64_t n, double seconds) {
  return pad(std::to_string(n), 12) + pad(fixed(seconds > 0 ? double(n) / seconds : 0, 0), 11);
}

}  // namespace

std::string format_latency(std::uint64_t ns) {
  double us = double(ns) / 1e3;
  if (us < 1000) return fixed(us, us < 10 ? 2 : 1) + " us";
  return fixed(us / 1e3, us < 1e5 ? 2 : 1) + " ms";
}

std::string udp_interval_header(bool any_sender) {
  return std::string("[ ID] Interval           Transfer     Bitrate       ") +
         (any_sender ? "  Total Datagrams" : "  Jitter    Lost/Total Datagrams") + "\n";
}

std::string udp_interval_columns(const StreamSample& s) {
  const UdpCounts& u = *s.udp;
  if (s.sender)
    return "  " + pad(std::to_string(u.packets), 10) +
           (u.send_drops ? "  (" + std::to_string(u.send_drops) + " dropped by the local stack)"
                         : "");
  UdpTotals t;
  t.sent = u.packets + u.lost;
  t.lost = u.lost;
  t.jitter_ms = u.jitter_ms;
  t.out_of_order = u.out_of_order;
  t.duplicates = u.duplicates;
  std::string out = udp_receiver_columns(t);
  if (u.socket_drops) out += "  " + std::to_string(u.socket_drops) + " socket drops";
  return out;
}

std::string udp_end_lines(const Report& r, char rate_unit) {
  std::ostringstream out;
  out << "[ ID] Interval           Transfer     Bitrate         Jitter    Lost/Total Datagrams\n";
  auto line = [&](const std::string& tag, const Totals& sent, const Totals& got,
                  const UdpTotals& u) {
    out << tag << figures(sent, rate_unit) << "  " << pad("", 10) << pad(std::to_string(u.sent), 17)
        << "  sender";
    if (u.send_drops) out << " (" << u.send_drops << " dropped by its stack)";
    out << "\n" << tag << figures(got, rate_unit) << udp_receiver_columns(u) << "  receiver";
    if (u.socket_drops) out << " (" << u.socket_drops << " dropped by its socket buffer)";
    out << "\n";
  };
  std::vector<int> ids = stream_ids(r);
  for (int id : ids) {
    StreamPair p = stream_pair(r, id);
    std::string tag = stream_tag(r, id, local_sends(r, id));
    line(tag, sender_totals(p), receiver_totals(p), udp_totals(p));
  }
  if (ids.size() > 1 || r.spec.direction == Direction::kBidir)
    for (bool reverse : {false, true}) {
      if (reverse && r.spec.direction != Direction::kBidir) break;
      line(sum_tag(r, reverse), sum_sent(r, reverse), sum_received(r, reverse),
           udp_sum(r, reverse));
    }
  return out.str();
}

std::string rr_interval_header() {
  return "[ ID] Interval         Transactions    Trans/s       p50       p90       p99     "
         "p99.9       max\n";
}

std::string rr_interval_line(const Report& r, const StreamSample& s) {
  double seconds = s.end - s.start;
  return stream_tag(r, s.id, s.sender) + " " + span_text(s.start, s.end) +
         rr_rate(s.rr->transactions, seconds) + latency_columns(s.rr->latency) +
         (s.omitted ? "  (omitted)" : "") + "\n";
}

std::string rr_end_lines(const Report& r) {
  std::ostringstream out;
  out << "- - - - - - - - - - - - - - - - - - - - - - - - -\n" << rr_interval_header();
  for (const auto& s : r.local.streams)
    if (s.rr)
      out << stream_tag(r, s.id, s.sender) << " " << span_text(0, s.seconds)
          << rr_rate(s.rr->transactions, s.seconds) << latency_columns(s.rr->latency) << "\n";
  auto sum = rr_sum(r);
  if (sum && r.local.streams.size() > 1) {
    double seconds = sum_sent(r, false).seconds;
    out << "[SUM] " << span_text(0, seconds) << rr_rate(sum->transactions, seconds)
        << latency_columns(sum->latency) << "\n";
  }
  if (sum)
    out << "Latency: request written to response read, " << r.spec.req_len << "-byte request, "
        << r.spec.resp_len << "-byte response, one transaction in flight per stream; mean "
        << format_latency(std::uint64_t(sum->latency.mean())) << " over " << sum->latency.count()
        << " transactions.\n";
  if (sum && sum->lost) out << udp_rr_lost_line(*sum);
  return out.str();
}

}  // namespace nicperf
