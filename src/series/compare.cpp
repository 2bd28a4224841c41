#include "nicperf/series/compare.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ostream>

#include "nicperf/nic/nicd_client.hpp"
#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"
#include "nicperf/report/reporter.hpp"
#include "nicperf/results/context.hpp"
#include "nicperf/util/units.hpp"
#include "series/series_runner.hpp"

namespace nicperf {
namespace {

Json spread_json(const Spread& s) {
  if (s.n == 0) return nullptr;
  Json j = {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"n", s.n}};
  if (s.n >= 2) j["ci95"] = s.ci95;
  return j;
}

std::string cell(const Spread& s, int decimals, double scale = 1) {
  if (s.n == 0) return "-";
  return fixed(s.median * scale, decimals) + " [" + fixed(s.min * scale, decimals) + "-" +
         fixed(s.max * scale, decimals) + "]";
}

std::string pad_right(std::string s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::vector<std::string> default_send_modes(const TestSpec& spec) {
  std::vector<std::string> modes;
  if (is_udp(spec)) {
    for (const auto& p : dgram_send_paths()) modes.push_back(p.name);
    return modes;
  }
  for (const auto& p : send_paths())
    if (!(p.caps & kCapNoIo)) modes.push_back(p.name);
  return modes;
}

template <class Info>
std::string unavailable_reason(const Info* info) {
  return info ? path_unavailable(*info) : "unknown";
}

}  // namespace

Spread spread(std::vector<double> v) {
  Spread s;
  s.n = int(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  std::size_t mid = v.size() / 2;
  s.median = v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(v.size());
  if (v.size() >= 2) {
    // Student's t for a two-sided 95% interval, by degrees of freedom (netperf's -I uses it).
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                               2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                               2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                               2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    std::size_t df = v.size() - 1;
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    double sd = std::sqrt(ss / double(df));
    s.ci95 = (df <= 30 ? t[df - 1] : 1.960) * sd / std::sqrt(double(v.size()));
  }
  return s;
}

std::vector<std::size_t> round_order(std::size_t count, int round) {
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = (i + std::size_t(round)) % count;
  return order;
}

CompareRun run_figures(const Report& r, int exit_code, int round) {
  CompareRun run;
  run.send_mode = r.spec.send_mode;
  run.recv_mode = r.spec.recv_mode;
  run.round = round;
  run.exit_code = exit_code;
  if (r.error) run.error = r.error->message;
  Totals got = sum_received(r, false);
  run.gbps = got.bits_per_second / 1e9;
  run.bytes = got.bytes;
  PathTotals paths = path_totals(r);
  run.copied_share = paths.copied_share();
  run.mapped_share = paths.mapped_share();
  bool local_sends_data = local_sends(r);
  CpuUsage remote = r.remote ? r.remote->cpu : CpuUsage{};
  run.sender_cpu = local_sends_data ? r.local.cpu : remote;
  run.receiver_cpu = local_sends_data ? remote : r.local.cpu;
  auto fill = [](const SideCost* c, std::optional<double>& s_per_gb, std::optional<double>& softirq,
                 std::optional<double>& cycles) {
    if (!c || c->bytes == 0) return;
    DerivedCost d = derive(*c);
    s_per_gb = d.cpu_ns_per_byte;  // ns per byte is s per GB
    if (c->traced) softirq = d.softirq_share;
    cycles = d.cycles_per_byte;
  };
  fill(side_cost(r, data_sender(r.spec)), run.sender_s_per_gb, run.sender_softirq_share,
       run.sender_cycles_per_byte);
  fill(side_cost(r, data_receiver(r.spec)), run.receiver_s_per_gb, run.receiver_softirq_share,
       run.receiver_cycles_per_byte);
  if (const SideEnd* e = side_end(r, data_sender(r.spec)); e && e->profile)
    run.sender_profile = e->profile;
  if (const SideEnd* e = side_end(r, data_receiver(r.spec)); e && e->profile)
    run.receiver_profile = e->profile;
  if (const nic::NicDirection* d = data_direction(r)) {
    nic::NicQueueStats t = d->total();
    if (t.bytes) run.nic_irqs_per_gb = double(t.interrupts) / (double(t.bytes) / 1e9);
    run.nic_frames_per_irq = t.frames_per_irq();
  }
  return run;
}

void summarize(CompareResult& result, const std::vector<CompareCell>& cells,
               const std::vector<std::string>& unavailable) {
  result.rows.clear();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    CompareRow row;
    row.send_mode = cells[i].send;
    row.recv_mode = cells[i].recv;
    row.nic_setting = cells[i].nic;
    row.unavailable = unavailable[i];
    std::vector<double> gbps, copied, scpu, rcpu, sgb, rgb, ssoft, rsoft, irqs, fpi, scyc, rcyc;
    for (const auto& run : result.runs) {
      if (run.send_mode != row.send_mode || run.recv_mode != row.recv_mode ||
          run.nic_setting != row.nic_setting)
        continue;
      if (run.exit_code != 0 && run.exit_code != exit_code(Errc::kInterrupted)) {
        ++row.failures;
        continue;
      }
      gbps.push_back(run.gbps);
      if (run.copied_share) copied.push_back(*run.copied_share);
      if (run.sender_cpu.valid) scpu.push_back(run.sender_cpu.total);
      if (run.receiver_cpu.valid) rcpu.push_back(run.receiver_cpu.total);
      if (run.sender_s_per_gb) sgb.push_back(*run.sender_s_per_gb);
      if (run.receiver_s_per_gb) rgb.push_back(*run.receiver_s_per_gb);
      if (run.sender_softirq_share) ssoft.push_back(*run.sender_softirq_share);
      if (run.receiver_softirq_share) rsoft.push_back(*run.receiver_softirq_share);
      if (run.nic_irqs_per_gb) irqs.push_back(*run.nic_irqs_per_gb);
      if (run.nic_frames_per_irq) fpi.push_back(*run.nic_frames_per_irq);
      if (run.sender_cycles_per_byte) scyc.push_back(*run.sender_cycles_per_byte);
      if (run.receiver_cycles_per_byte) rcyc.push_back(*run.receiver_cycles_per_byte);
    }
    row.gbps = spread(gbps);
    row.copied_share = spread(copied);
    row.sender_cpu = spread(scpu);
    row.receiver_cpu = spread(rcpu);
    row.sender_s_per_gb = spread(sgb);
    row.receiver_s_per_gb = spread(rgb);
    row.sender_softirq = spread(ssoft);
    row.receiver_softirq = spread(rsoft);
    row.nic_irqs_per_gb = spread(irqs);
    row.nic_frames_per_irq = spread(fpi);
    row.sender_cycles_per_byte = spread(scyc);
    row.receiver_cycles_per_byte = spread(rcyc);
    result.rows.push_back(row);
  }
}

Json compare_json(const CompareResult& result) {
  Json runs = Json::array();
  for (const auto& r : result.runs) {
    Json j = {{"send_mode", r.send_mode}, {"recv_mode", r.recv_mode},        {"round", r.round},
              {"exit_code", r.exit_code}, {"bits_per_second", r.gbps * 1e9}, {"bytes", r.bytes}};
    if (r.copied_share) j["copied_share"] = *r.copied_share;
    if (r.mapped_share) j["mapped_share"] = *r.mapped_share;
    if (r.sender_cpu.valid) j["sender_cpu_percent"] = r.sender_cpu.total;
    if (r.receiver_cpu.valid) j["receiver_cpu_percent"] = r.receiver_cpu.total;
    if (r.sender_s_per_gb) j["sender_cpu_s_per_gb"] = *r.sender_s_per_gb;
    if (r.receiver_s_per_gb) j["receiver_cpu_s_per_gb"] = *r.receiver_s_per_gb;
    if (r.sender_softirq_share) j["sender_softirq_share"] = *r.sender_softirq_share;
    if (r.receiver_softirq_share) j["receiver_softirq_share"] = *r.receiver_softirq_share;
    if (!r.nic_setting.empty()) j["nic_setting"] = r.nic_setting;
    if (r.nic_irqs_per_gb) j["nic_interrupts_per_gb"] = *r.nic_irqs_per_gb;
    if (r.nic_frames_per_irq) j["nic_frames_per_interrupt"] = *r.nic_frames_per_irq;
    if (r.sender_cycles_per_byte) j["sender_cycles_per_byte"] = *r.sender_cycles_per_byte;
    if (r.receiver_cycles_per_byte) j["receiver_cycles_per_byte"] = *r.receiver_cycles_per_byte;
    if (!r.error.empty()) j["error"] = r.error;
    runs.push_back(j);
  }
  Json rows = Json::array();
  for (const auto& row : result.rows) {
    Json j = {{"send_mode", row.send_mode},
              {"recv_mode", row.recv_mode},
              {"failures", row.failures},
              {"gbps", spread_json(row.gbps)},
              {"copied_share", spread_json(row.copied_share)},
              {"sender_cpu_percent", spread_json(row.sender_cpu)},
              {"receiver_cpu_percent", spread_json(row.receiver_cpu)},
              {"sender_cpu_s_per_gb", spread_json(row.sender_s_per_gb)},
              {"receiver_cpu_s_per_gb", spread_json(row.receiver_s_per_gb)},
              {"sender_softirq_share", spread_json(row.sender_softirq)},
              {"receiver_softirq_share", spread_json(row.receiver_softirq)}};
    if (!row.unavailable.empty()) j["unavailable"] = row.unavailable;
    if (!row.nic_setting.empty()) j["nic_setting"] = row.nic_setting;
    // Only with a PMU; absent rather than null so a PMU-less result says nothing about cycles.
    if (row.sender_cycles_per_byte.n)
      j["sender_cycles_per_byte"] = spread_json(row.sender_cycles_per_byte);
    if (row.receiver_cycles_per_byte.n)
      j["receiver_cycles_per_byte"] = spread_json(row.receiver_cycles_per_byte);
    if (result.nic) {
      j["nic_interrupts_per_gb"] = spread_json(row.nic_irqs_per_gb);
      j["nic_frames_per_interrupt"] = spread_json(row.nic_frames_per_irq);
    }
    rows.push_back(j);
  }
  Json out = {
      {"repeat", result.repeat}, {"order", "rotated each round"}, {"runs", runs}, {"rows", rows}};
  if (Json p = compare_profile_json(result); !p.is_null()) out["profile"] = p;
  return out;
}

// Cycles per byte need a PMU; the table lists them only when some row has them.
void print_cycles(std::ostream& out, const CompareResult& result) {
  bool any = std::any_of(result.rows.begin(), result.rows.end(), [](const CompareRow& r) {
    return r.sender_cycles_per_byte.n || r.receiver_cycles_per_byte.n;
  });
  if (!any) return;
  out << "CPU cycles per byte, median [min-max]:\n";
  for (const auto& row : result.rows) {
    if (!row.unavailable.empty()) continue;
    out << "  " << pad_right(row.send_mode + "/" + row.recv_mode, 20) << "sender "
        << pad_right(cell(row.sender_cycles_per_byte, 2), 22) << "receiver "
        << cell(row.receiver_cycles_per_byte, 2) << "\n";
  }
}

void print_compare(std::ostream& out, const CompareResult& result) {
  const TestSpec& s = result.spec;
  out << "Comparison against " << result.host << " port " << result.port << ": " << result.repeat
      << " round" << (result.repeat > 1 ? "s" : "") << " (order rotated each round), "
      << (s.bytes ? format_bytes(double(s.bytes)) : fixed(s.duration, 0) + " s") << " per run, "
      << s.streams << " stream" << (s.streams > 1 ? "s" : "") << ", "
      << format_bytes(double(s.block_len)) << " blocks, direction " << direction_name(s.direction)
      << "\n";
  bool sweep = !result.rows.empty() && !result.rows.front().nic_setting.empty();
  if (sweep) out << pad_right("NIC", 16);
  out << pad_right("send", 10) << pad_right("recv", 9)
      << pad_right("Gbit/s median [min-max] +-ci95", 33) << pad_right("zc copied", 11)
      << pad_right("CPU s/GB snd", 14) << pad_right("CPU s/GB rcv", 14)
      << pad_right("softirq snd", 13) << pad_right("softirq rcv", 13)
      << (result.nic ? "NIC irqs/GB  frames/irq" : "") << "\n";
  for (const auto& row : result.rows) {
    if (sweep) out << pad_right(row.nic_setting, 16);
    out << pad_right(row.send_mode, 10) << pad_right(row.recv_mode, 9);
    if (!row.unavailable.empty()) {
      out << "unavailable: " << row.unavailable << "\n";
      continue;
    }
    auto median = [](const Spread& v, int decimals, double scale, const char* unit) {
      return v.n ? fixed(v.median * scale, decimals) + unit : std::string("-");
    };
    std::string gbps = cell(row.gbps, 2);
    if (row.gbps.n >= 2) gbps += " +-" + fixed(row.gbps.ci95, 2);
    out << pad_right(gbps, 33) << pad_right(median(row.copied_share, 0, 100, "%"), 11)
        << pad_right(median(row.sender_s_per_gb, 3, 1, ""), 14)
        << pad_right(median(row.receiver_s_per_gb, 3, 1, ""), 14)
        << pad_right(median(row.sender_softirq, 1, 100, "%"), 13)
        << pad_right(median(row.receiver_softirq, 1, 100, "%"), 13);
    if (result.nic) {
      out << pad_right(median(row.nic_irqs_per_gb, 0, 1, ""), 13)
          << median(row.nic_frames_per_irq, 1, 1, "");
    }
    if (row.failures) out << "  (" << row.failures << " failed)";
    out << "\n";
  }
  out << "Gbit/s: median [min-max] +-half-width of the 95% confidence interval of the mean; CPU "
         "s/GB: CPU seconds per GB moved (service demand), medians; softirq: share of that side's "
         "CPU "
         "time spent in softirqs it was charged\n";
  for (const auto& run : result.runs)
    if (!run.error.empty())
      out << "run " << run.send_mode << "/" << run.recv_mode << " round " << run.round
          << " failed: " << run.error << "\n";
  for (const auto& row : result.rows)
    if (row.copied_share.n && row.copied_share.median > 0.5)
      out << "note: " << row.send_mode
          << " was copied by the kernel for most sends; its figures are not zero-copy figures\n";
  print_cycles(out, result);
  print_compare_profile(out, result);
  if (result.interrupted)
    out << "Comparison interrupted: the table covers the runs that finished.\n";
  if (auto w = build_warning(); !w.empty()) out << "warning: " << w << "\n";
}

// The compare matrix: send x receive path, times each --compare-nic value.
struct Matrix {
  std::vector<CompareCell> cells;
  std::vector<std::string> unavailable;
};

Matrix build_matrix(const ClientOptions& base, const CompareOptions& opt) {
  std::vector<std::string> sends =
      opt.send_modes.empty() ? default_send_modes(base.spec) : opt.send_modes;
  std::vector<std::string> recvs =
      opt.recv_modes.empty() ? std::vector<std::string>{base.spec.recv_mode} : opt.recv_modes;
  std::vector<std::string> nics;
  for (const auto& v : opt.nic_values) nics.push_back(opt.nic_key + "=" + v);
  if (nics.empty()) nics.emplace_back();
  Matrix m;
  bool client_sends_data = data_sender(base.spec) == Side::kClient;
  for (const auto& n : nics)
    for (const auto& s : sends)
      for (const auto& r : recvs) {
        m.cells.push_back({s, r, n});
        if (is_udp(base.spec))
          m.unavailable.push_back(client_sends_data ? unavailable_reason(find_dgram_send_path(s))
                                                    : unavailable_reason(find_dgram_recv_path(r)));
        else
          m.unavailable.push_back(client_sends_data ? unavailable_reason(find_send_path(s))
                                                    : unavailable_reason(find_recv_path(r)));
      }
  return m;
}

int run_compare(const ClientOptions& base, const CompareOptions& opt, std::ostream& out,
                std::ostream& err) {
  Matrix m = build_matrix(base, opt);
  const auto& cells = m.cells;
  const auto& unavailable = m.unavailable;
  NicSweep sweep;
  if (auto s = sweep.open(base, opt); !s) {
    err << "nicperf: error: " << s.error().message << "\n";
    return exit_code(s.error().code);
  }
  CompareResult result;
  result.spec = base.spec;
  result.host = base.host;
  result.port = base.port;
  result.repeat = opt.repeat;
  result.nic = !base.nic_socket.empty();
  Progress progress(err, base.format == Format::kText && isatty(2));
  SeriesRunner series;
  double per_run = (base.spec.bytes ? 2.0 : base.spec.duration + base.spec.omit) + 0.3;
  std::size_t total = cells.size() * std::size_t(opt.repeat), done = 0;
  for (int round = 0; round < opt.repeat && !series.stopped(); ++round) {
    for (std::size_t i : round_order(cells.size(), round)) {
      if (series.stopped()) break;
      ++done;
      if (!unavailable[i].empty()) continue;
      ClientOptions one = base;
      one.spec.send_mode = cells[i].send;
      one.spec.recv_mode = cells[i].recv;
      one.profile_prefix = (cells[i].nic.empty() ? "" : cells[i].nic + "-") + cells[i].send + "-" +
                           cells[i].recv + "-r" + std::to_string(round + 1) + ".";
      progress.show(
          cells[i].nic + (cells[i].nic.empty() ? "" : " ") + cells[i].send + "/" + cells[i].recv,
          round + 1, opt.repeat, per_run * double(total - done + 1));
      Report report;
      int code = series.run(one, sweep, cells[i].nic, report);
      CompareRun run = run_figures(report, code, round + 1);
      run.nic_setting = cells[i].nic;
      if (run.error.empty() && code != 0 && !report.interrupted)
        run.error = "exit code " + std::to_string(code);
      result.runs.push_back(run);
    }
  }
  progress.clear();
  result.interrupted = series.stopped();
  summarize(result, cells, unavailable);
  if (base.format == Format::kText) {
    print_compare(out, result);
  } else {
    Json doc = {{"start",
                 {{"connecting_to", {{"host", base.host}, {"port", base.port}}},
                  {"test_spec", to_json(base.spec)}}},
                {"compare", compare_json(result)},
                {"context", system_context()}};
    if (result.interrupted) doc["interrupted"] = true;
    out << (base.format == Format::kJson ? doc.dump(4)
                                         : Json{{"event", "end"}, {"data", doc}}.dump())
        << "\n";
  }
  if (result.interrupted) return exit_code(Errc::kInterrupted);
  for (const auto& row : result.rows)
    if (row.failures) return exit_code(Errc::kTestFailed);
  return 0;
}

}  // namespace nicperf
