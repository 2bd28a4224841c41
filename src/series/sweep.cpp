#include "nicperf/series/sweep.hpp"

#include <unistd.h>

#include <cmath>
#include <ostream>

#include "nicperf/cost/irq_trace.hpp"
#include "nicperf/report/reporter.hpp"
#include "nicperf/results/context.hpp"
#include "nicperf/util/units.hpp"
#include "series/series_runner.hpp"

namespace nicperf {
namespace {}  // namespace

Expected<SweepOptions> parse_sweep(const std::string& text) {
  auto c1 = text.find(':');
  auto c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos)
    return usage("--sweep-rate takes LO:HI:STEPS packets per second, e.g. 50k:2M:10");
  auto lo = parse_rate(text.substr(0, c1));
  auto hi = parse_rate(text.substr(c1 + 1, c2 - c1 - 1));
  if (!lo) return lo.error();
  if (!hi) return hi.error();
  SweepOptions o;
  o.lo_pps = *lo;
  o.hi_pps = *hi;
  try {
    std::size_t used = 0;
    o.steps = std::stoi(text.substr(c2 + 1), &used);
    if (used != text.size() - c2 - 1) o.steps = 0;
  } catch (const std::exception&) {
    o.steps = 0;
  }
  if (o.steps < 1 || o.steps > 100) return usage("--sweep-rate: STEPS must be 1-100");
  if (!(o.lo_pps >= 1 && o.hi_pps >= o.lo_pps && o.hi_pps <= 1e8))
    return usage("--sweep-rate: need 1 <= LO <= HI <= 100M packets per second");
  return o;
}

std::vector<double> sweep_rates(const SweepOptions& opt) {
  std::vector<double> rates;
  for (int i = 0; i < opt.steps; ++i) {
    double f = opt.steps == 1 ? 1.0 : double(i) / double(opt.steps - 1);
    rates.push_back(std::round(opt.lo_pps * std::pow(opt.hi_pps / opt.lo_pps, f)));
  }
  return rates;
}

SweepPoint sweep_point(const Report& r, int exit_code, double target_pps) {
  SweepPoint p;
  p.target_pps = target_pps;
  p.exit_code = exit_code;
  if (r.error) p.error = r.error->message;
  UdpTotals u = udp_sum(r, false);
  p.offered = u.sent;
  p.delivered = u.received;
  p.send_drops = u.send_drops;
  p.socket_drops = u.socket_drops;
  p.seconds = u.seconds;
  p.device_drops = u.device_drops.value_or(0);
  std::uint64_t counted = p.send_drops + p.device_drops + p.socket_drops;
  if (const auto* d = data_direction(r)) {
    nic::NicQueueStats t = d->total();
    p.nic_drops = t.drops + t.lost;
    counted += *p.nic_drops;
  }
  p.unattributed = std::int64_t(p.offered) - std::int64_t(p.delivered) - std::int64_t(counted);
  if (p.seconds > 0) {
    p.offered_pps = double(p.offered) / p.seconds;
    p.delivered_pps = double(p.delivered) / p.seconds;
  }
  p.receiver = receiver_load(r);
  return p;
}

Json sweep_json(const std::vector<SweepPoint>& points) {
  Json out = Json::array();
  for (const auto& p : points) {
    Json j = {{"target_pps", p.target_pps},     {"seconds", p.seconds},
              {"offered", p.offered},           {"delivered", p.delivered},
              {"offered_pps", p.offered_pps},   {"delivered_pps", p.delivered_pps},
              {"send_drops", p.send_drops},     {"socket_drops", p.socket_drops},
              {"device_drops", p.device_drops}, {"unattributed", p.unattributed},
              {"exit_code", p.exit_code}};
    if (!p.nic_setting.empty()) j["nic_setting"] = p.nic_setting;
    if (p.nic_drops) j["nic_drops"] = *p.nic_drops;
    const ReceiverLoad& rx = p.receiver;
    if (rx.net_rx_cpu_percent) j["net_rx_cpu_percent"] = *rx.net_rx_cpu_percent;
    if (rx.interrupts_per_s) j["interrupts_per_second"] = *rx.interrupts_per_s;
    if (rx.cpu_percent) j["receiver_cpu_percent"] = *rx.cpu_percent;
    if (rx.napi_budget_share) j["napi_budget_exhausted_share"] = *rx.napi_budget_share;
    if (rx.time_squeeze) j["time_squeeze"] = *rx.time_squeeze;
    if (!p.error.empty()) j["error"] = p.error;
    out.push_back(j);
  }
  return out;
}

void print_sweep(std::ostream& out, const TestSpec& spec, const std::vector<SweepPoint>& points) {
  auto col = [](const std::string& s, std::size_t w) {
    return s.size() >= w ? s + " " : std::string(w - s.size(), ' ') + s;
  };
  auto opt_num = [](std::optional<double> v, int decimals) {
    return v ? fixed(*v, decimals) : std::string("-");
  };
  out << "Receive livelock sweep: UDP " << spec.block_len << "-byte datagrams, " << spec.streams
      << " stream" << (spec.streams > 1 ? "s" : "") << ", " << fixed(spec.duration, 1)
      << " s per step, send mode " << spec.send_mode << ", receive mode " << spec.recv_mode << "\n";
  std::string last_setting = "-";
  for (const auto& p : points) {
    if (p.nic_setting != last_setting) {
      if (!p.nic_setting.empty()) out << "NIC " << p.nic_setting << "\n";
      out << col("offered pps", 13) << col("delivered pps", 15) << col("sender stack", 14)
          << col("sender dev", 12) << col("NIC drops", 11) << col("socket buf", 12)
          << col("unattributed", 14) << col("NET_RX %CPU", 13) << col("irqs/s", 10)
          << col("app %CPU", 10) << col("NAPI budget", 13) << col("squeezed", 10) << "\n";
      last_setting = p.nic_setting;
    }
    out << col(fixed(p.offered_pps, 0), 13) << col(fixed(p.delivered_pps, 0), 15)
        << col(std::to_string(p.send_drops), 14) << col(std::to_string(p.device_drops), 12)
        << col(p.nic_drops ? std::to_string(*p.nic_drops) : "-", 11)
        << col(std::to_string(p.socket_drops), 12) << col(std::to_string(p.unattributed), 14)
        << col(opt_num(p.receiver.net_rx_cpu_percent, 1), 13)
        << col(opt_num(p.receiver.interrupts_per_s, 0), 10)
        << col(opt_num(p.receiver.cpu_percent, 1), 10)
        << col(p.receiver.napi_budget_share ? fixed(100 * *p.receiver.napi_budget_share, 1) + "%"
                                            : std::string("-"),
               13)
        << col(p.receiver.time_squeeze ? std::to_string(*p.receiver.time_squeeze) : "-", 10);
    if (!p.error.empty()) out << "  error: " << p.error;
    out << "\n";
  }
  out << "Datagrams: offered = delivered + sender stack (ENOBUFS) + sender devices (transmit "
         "drops in its namespace, e.g. a full tap queue) + NIC drops + socket buffer + "
         "unattributed (dropped where nothing counts them). NET_RX %CPU "
         "is the receiving host's traced NET_RX softirq time in percent of one CPU. NAPI budget is "
         "the receiving host's NAPI polls that used their whole budget, of all its polls (- when "
         "napi_poll was not traced); squeezed is its softnet time_squeeze, the NET_RX runs cut "
         "short by netdev_budget or its time limit, over every CPU.\n";
}

int run_sweep(const ClientOptions& base, const SweepOptions& opt, std::ostream& out,
              std::ostream& err) {
  CompareOptions nic_opt;
  nic_opt.nic_key = opt.nic_key;
  NicSweep nic;
  if (auto s = nic.open(base, nic_opt); !s) {
    err << "nicperf: error: " << s.error().message << "\n";
    return exit_code(s.error().code);
  }
  std::vector<std::string> settings;
  for (const auto& v : opt.nic_values) settings.push_back(opt.nic_key + "=" + v);
  if (settings.empty()) settings.emplace_back();
  std::vector<double> rates = sweep_rates(opt);
  Progress progress(err, base.format == Format::kText && isatty(2));
  SeriesRunner series;
  std::vector<SweepPoint> points;
  std::size_t total = settings.size() * rates.size(), done = 0;
  bool failed = false;
  for (const auto& setting : settings) {
    for (double pps : rates) {
      if (series.stopped()) break;
      ++done;
      progress.show((setting.empty() ? "" : setting + " ") + fixed(pps, 0) + " pps", int(done),
                    int(total), (base.spec.duration + 1.3) * double(total - done + 1));
      ClientOptions one = base;
      double per_stream_bps = pps / base.spec.streams * double(base.spec.block_len) * 8;
      one.spec.rate = std::max<std::uint64_t>(1, std::uint64_t(per_stream_bps));
      Report report;
      int code = series.run(one, nic, setting, report);
      SweepPoint p = sweep_point(report, code, pps);
      p.nic_setting = setting;
      failed = failed || (code != 0 && !series.stopped());
      points.push_back(p);
    }
  }
  progress.clear();
  if (base.format == Format::kText) {
    print_sweep(out, base.spec, points);
  } else {
    Json doc = {{"start",
                 {{"connecting_to", {{"host", base.host}, {"port", base.port}}},
                  {"test_spec", to_json(base.spec)}}},
                {"sweep", {{"nic_key", opt.nic_key}, {"points", sweep_json(points)}}},
                {"context", system_context()}};
    if (series.stopped()) doc["interrupted"] = true;
    out << (base.format == Format::kJson ? doc.dump(4)
                                         : Json{{"event", "end"}, {"data", doc}}.dump())
        << "\n";
  }
  if (series.stopped()) return exit_code(Errc::kInterrupted);
  return failed ? exit_code(Errc::kTestFailed) : 0;
}

}  // namespace nicperf
