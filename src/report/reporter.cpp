// Text, JSON and JSON-stream reporters.
#include "nicperf/report/reporter.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <optional>
#include <ostream>

#include "nicperf/results/context.hpp"
#include "nicperf/util/units.hpp"
#include "report/reporter_text.hpp"

namespace nicperf {

std::string pad(std::string s, std::size_t width, bool left) {
  if (s.size() >= width) return s;
  return left ? s + std::string(width - s.size(), ' ') : std::string(width - s.size(), ' ') + s;
}

std::string span_text(double start, double end) {
  return pad(fixed(start, 2), 6) + "-" + pad(fixed(end, 2), 6, true) + " sec";
}

std::string stream_tag(const Report& r, int id, bool sender) {
  std::string t = "[" + pad(std::to_string(id + 1), 3) + "]";
  if (r.spec.direction == Direction::kBidir)
    t += std::string("[") + (sender ? "TX" : "RX") + (r.is_client ? "-C]" : "-S]");
  return t;
}

std::string sum_tag(const Report& r, bool reverse_group) {
  if (r.spec.direction != Direction::kBidir) return "[SUM]";
  bool tx = group_sender(r.spec, reverse_group) == local_side(r);
  return std::string("[SUM][") + (tx ? "TX" : "RX") + (r.is_client ? "-C]" : "-S]");
}

std::string figures(const Totals& t, char rate_unit) {
  return " " + span_text(t.start, t.end) + "  " + pad(format_bytes(double(t.bytes)), 11) + "  " +
         pad(format_rate_in(t.bits_per_second, rate_unit), 14);
}

namespace {

bool peer_is_iperf3(const Report& r) {
  return r.remote_context.is_object() && r.remote_context.value("implementation", "") == "iperf3";
}

bool is_loopback(const Report& r) {
  for (const auto& e : r.start.connected)
    if (e.remote_host.rfind("127.", 0) != 0 && e.remote_host != "::1") return false;
  return !r.start.connected.empty();
}

class TextReporter final : public Reporter {
 public:
  TextReporter(std::ostream& out, std::ostream& err, bool verbose, char rate_unit)
      : out_(out), err_(err), verbose_(verbose), unit_(rate_unit) {}

  void on_start(const Report& r) override {
    if (auto w = build_warning(); !w.empty()) out_ << "warning: " << w << "\n";
    if (r.is_client)
      out_ << "Connecting to host " << r.start.host << ", port " << r.start.port << "\n";
    else
      out_ << "Accepted connection from " << r.start.host << ", port " << r.start.port << "\n";
    if (verbose_) {
      out_ << system_info() << "\n";
      out_ << "Cookie: " << r.start.cookie << "\n";
      out_ << "Test spec: " << to_json(r.spec).dump() << "\n";
    }
    for (const auto& e : r.start.connected)
      out_ << stream_tag(r, e.id, local_sends(r, e.id)) << " local " << e.local_host << " port "
           << e.local_port << " connected to " << e.remote_host << " port " << e.remote_port
           << "\n";
    out_ << "Starting test: " << describe(r.spec) << "\n";
    out_.flush();
  }

  void on_interval(const Report& r, const IntervalRecord& iv) override {
    bool any_sender = false;
    for (const auto& s : iv.streams) any_sender = any_sender || s.sender;
    bool rr = is_rr(r.spec) && r.is_client;
    if (!header_done_) {
      if (rr)
        out_ << rr_interval_header();
      else if (is_udp(r.spec))
        out_ << udp_interval_header(any_sender);
      else
        out_ << "[ ID] Interval           Transfer     Bitrate"
             << (any_sender ? "         Retr  Cwnd" : "") << "\n";
      header_done_ = true;
    }
    for (const auto& s : iv.streams) {
      if (s.rr) {
        out_ << rr_interval_line(r, s);
        continue;
      }
      out_ << stream_tag(r, s.id, s.sender) << figures(sample_totals(s), unit_);
      if (s.udp)
        out_ << udp_interval_columns(s);
      else if (s.sender && !is_rr(r.spec))
        out_ << pad(std::to_string(s.retransmits), 6) << "  "
             << pad(format_bytes(double(s.tcp.snd_cwnd)), 11);
      out_ << (s.omitted ? "  (omitted)" : "") << "\n";
    }
    if (iv.streams.size() > 1 && !rr) interval_sums(r, iv);
    out_.flush();
  }

  void on_end(const Report& r) override {
    if (is_udp(r.spec))
      out_ << "- - - - - - - - - - - - - - - - - - - - - - - - -\n" << udp_end_lines(r, unit_);
    else if (is_rr(r.spec) && r.is_client)
      out_ << rr_end_lines(r);
    else
      byte_lines(r);
    cpu_line(r);
    rest_of_end(r);
  }

  void byte_lines(const Report& r) {
    out_ << "- - - - - - - - - - - - - - - - - - - - - - - - -\n";
    out_ << "[ ID] Interval           Transfer     Bitrate         Retr\n";
    for (int id : stream_ids(r)) {
      StreamPair p = stream_pair(r, id);
      out_ << stream_tag(r, id, local_sends(r, id)) << figures(sender_totals(p), unit_)
           << pad(std::to_string(sender_totals(p).retransmits), 6) << "             sender\n";
      if (!r.file.empty()) out_ << diskfile_line(r, p, id);
      out_ << stream_tag(r, id, local_sends(r, id)) << figures(receiver_totals(p), unit_)
           << "                   receiver\n";
    }
    if (stream_ids(r).size() > 1 || r.spec.direction == Direction::kBidir) end_sums(r);
  }

  // iperf3's line for -F, between a stream's sender and receiver lines: what this side sent
  // from the file, or wrote to it, against the file's size now.
  static std::string diskfile_line(const Report& r, const StreamPair& p, int id) {
    struct stat st {};
    if (stat(r.file.c_str(), &st) != 0) return "";
    double bytes = double(local_sends(r, id) ? sender_totals(p).bytes : receiver_totals(p).bytes);
    int percent = st.st_size > 0 ? int(bytes / double(st.st_size) * 100.0) : 100;
    return "        Sent " + iperf3_units(bytes, 'A') + " / " +
           iperf3_units(double(st.st_size), 'A') + " (" + std::to_string(percent) + "%) of " +
           r.file + "\n";
  }

  void rest_of_end(const Report& r) {
    path_lines(r);
    cost_table(r);
    out_ << napi_softnet_blocks(r);
    for (Side side : {Side::kClient, Side::kServer})  // --profile
      if (const SideEnd* e = side_end(r, side); e && e->profile)
        out_ << profile_text(*e->profile, side_name(side));
    for (Side s : {Side::kClient, Side::kServer})
      if (const SideEnd* e = side_end(r, s); e && e->nic_dev)
        out_ << nic::nic_dev_block(*e->nic_dev, side_name(s));
    if (r.nic) out_ << nic::nic_table(*r.nic);
    if (!r.nic_error.empty()) out_ << "NIC counters missing: " << r.nic_error << "\n";
    for (const auto& t : r.thresholds)
      out_ << "Threshold " << t.name << " (" << fixed(t.limit, 3)
           << "): " << (t.value ? fixed(*t.value, 3) : std::string("not measured")) << " -> "
           << (t.passed ? "passed" : "MISSED") << (t.note.empty() ? "" : " (" + t.note + ")")
           << "\n";
    overlap_note(r);
    if (r.interrupted) out_ << "Test interrupted: the figures cover the time until the signal.\n";
    if (!r.server_output_text.empty()) out_ << "\nServer output:\n" << r.server_output_text;
    if (r.error) err_ << "nicperf: error: " << r.error->message << "\n";
    out_ << "\nnicperf Done.\n";
    out_.flush();
  }

  void on_error(const Report&, const Error& e) override {
    err_ << "nicperf: error: " << e.message << "\n";
    err_.flush();
  }

 private:
  static std::string describe(const TestSpec& s) {
    std::string what = s.bytes ? format_bytes(double(s.bytes)) + " to send"
                               : fixed(s.duration, 0) + " second test";
    std::string streams = std::to_string(s.streams) + " stream" + (s.streams > 1 ? "s" : "");
    if (is_udp(s))
      return "protocol: UDP, " + streams + ", " + std::to_string(s.block_len) +
             " byte datagrams, " +
             (s.rate ? format_rate(double(s.rate)) + " per stream" : std::string("unpaced")) +
             (s.burst > 1 ? " in bursts of " + std::to_string(s.burst) : "") + ", " + what +
             ", send mode " + s.send_mode + ", receive mode " + s.recv_mode + ", batch " +
             std::to_string(s.batch) + ", direction " + direction_name(s.direction);
    if (is_rr(s))
      return std::string("request/response over ") + (uses_udp(s) ? "UDP, " : "TCP, ") + streams +
             ", " + std::to_string(s.req_len) + "-byte requests, " + std::to_string(s.resp_len) +
             "-byte responses, " + what;
    return "protocol: TCP, " + streams + ", " + std::to_string(s.block_len) +
           " byte blocks, omitting " + fixed(s.omit, 0) + " seconds, " + what + ", send mode " +
           s.send_mode + ", receive mode " + s.recv_mode + ", direction " +
           direction_name(s.direction);
  }

  void interval_sums(const Report& r, const IntervalRecord& iv) {
    for (bool reverse : {false, true}) {
      if (reverse && r.spec.direction != Direction::kBidir) break;
      Totals t = interval_sum(r, iv, reverse);
      bool sender = false;
      for (const auto& s : iv.streams)
        sender = sender || (is_reverse_group(r.spec, s.id) == reverse && s.sender);
      out_ << sum_tag(r, reverse) << figures(t, unit_);
      if (sender) out_ << pad(std::to_string(t.retransmits), 6);
      out_ << "\n";
    }
  }

  void end_sums(const Report& r) {
    for (bool reverse : {false, true}) {
      if (reverse && r.spec.direction != Direction::kBidir) break;
      Totals sent = sum_sent(r, reverse), got = sum_received(r, reverse);
      out_ << sum_tag(r, reverse) << figures(sent, unit_)
           << pad(std::to_string(sent.retransmits), 6) << "             sender\n";
      out_ << sum_tag(r, reverse) << figures(got, unit_) << "                   receiver\n";
    }
  }

  // Zero-copy paths say plainly whether the kernel copied after all.
  void path_lines(const Report& r) {
    PathTotals t = path_totals(r);
    if (auto copied = t.copied_share()) {
      double share = *copied;
      out_ << "Zero-copy (" << r.spec.send_mode << "): the kernel copied " << t.send.zerocopy_copied
           << " of " << t.send.zerocopy_completions << " sends (" << fixed(100 * share, 1) << "%)";
      if (share > 0.5)
        out_ << ": this result is mostly NOT zero-copy"
             << (is_loopback(r) ? " (on loopback the kernel always copies)" : "");
      out_ << "\n";
    }
    if (auto mapped = t.mapped_share())
      out_ << "Zero-copy receive: " << format_bytes(double(t.recv.mapped_bytes)) << " mapped, "
           << format_bytes(double(t.recv.copied_bytes)) << " copied (" << fixed(100 * *mapped, 1)
           << "% mapped)\n";
  }

  // Client and server side by side; every figure from derive() over the SideCost.
  void cost_table(const Report& r) {
    const SideCost* c = client_cost(r);
    const SideCost* s = server_cost(r);
    if (!c && !s) return;
    bool client_sends = data_sender(r.spec) == Side::kClient;
    std::optional<DerivedCost> dc, ds;
    if (c) dc = derive(*c);
    if (s) ds = derive(*s);
    auto row = [&](const std::string& name, auto get) {
      out_ << pad(name, 34, true) << pad(c ? get(*c, *dc) : "-", 22)
           << pad(s ? get(*s, *ds) : "-", 22) << "\n";
    };
    auto pct = [](double v) { return fixed(100 * v, 1) + "%"; };
    out_ << pad("Cost", 34, true)
         << pad(std::string("client (") + (client_sends ? "sender" : "receiver") + ")", 22)
         << pad(std::string("server (") + (client_sends ? "receiver" : "sender") + ")", 22) << "\n";
    row("  level", [](const SideCost& x, const DerivedCost&) {
      return std::string(cost_level_name(x.level));
    });
    row("  CPU s per GB (scheduler time)", [](const SideCost& x, const DerivedCost& d) {
      return x.bytes ? fixed(d.cpu_ns_per_byte, 3) : std::string("-");
    });
    if (bytes_per_unit(r.spec) > 0)
      row(is_udp(r.spec) ? "  CPU us per datagram" : "  CPU us per transaction",
          [&r](const SideCost& x, const DerivedCost&) {
            auto ns = cpu_ns_per_unit(r.spec, &x);
            return ns ? fixed(*ns / 1e3, 3) : std::string("-");
          });
    row("  CPU %", [](const SideCost&, const DerivedCost& d) { return fixed(d.cpu_percent, 1); });
    row("  cycles per byte", [](const SideCost&, const DerivedCost& d) {
      return d.cycles_per_byte ? fixed(*d.cycles_per_byte, 2) : std::string("n/a");
    });
    row("  IPC", [](const SideCost&, const DerivedCost& d) {
      return d.ipc ? fixed(*d.ipc, 2) : std::string("n/a");
    });
    row("  user / kernel (tick-sampled)", [&](const SideCost&, const DerivedCost& d) {
      return pct(d.user_share) + " / " + pct(d.kernel_share);
    });
    row("  softirq / hardirq (traced)", [&](const SideCost& x, const DerivedCost& d) {
      return x.traced ? pct(d.softirq_share) + " / " + pct(d.hardirq_share) : std::string("n/a");
    });
    row("  NET_RX softirqs per GB", [](const SideCost& x, const DerivedCost& d) {
      return x.traced ? fixed(d.net_rx_per_gb, 0) : std::string("n/a");
    });
    row("  interrupts per GB", [](const SideCost& x, const DerivedCost& d) {
      return x.traced ? fixed(d.interrupts_per_gb, 0) : std::string("n/a");
    });
    row("  context switches per GB", [](const SideCost& x, const DerivedCost& d) {
      return x.level >= CostLevel::kCounters ? fixed(d.context_switches_per_gb, 0)
                                             : std::string("n/a");
    });
    row("  NET_RX run in peer's threads", [](const SideCost& x, const DerivedCost&) {
      return x.traced ? fixed(double(x.peer_irq.net_rx.ns) / 1e6, 1) + " ms" : std::string("n/a");
    });
    row("  collector's own CPU %", [](const SideCost& x, const DerivedCost& d) {
      return x.traced ? fixed(d.collector_percent, 2) : std::string("-");
    });
    row("  perf task-clock vs scheduler", [](const SideCost& x, const DerivedCost& d) {
      return x.level >= CostLevel::kCounters ? (d.task_clock_vs_scheduler >= 0 ? "+" : "") +
                                                   fixed(100 * d.task_clock_vs_scheduler, 1) + "%"
                                             : std::string("n/a");
    });
    // task-clock keeps steal and the switch window in; the scheduler's run time does not.
    row("  steal + switch ms (steal)", [](const SideCost& x, const DerivedCost&) {
      if (!x.steal_ns) return std::string("n/a");
      CounterValues all = x.streams;
      all += x.rest;
      return fixed((all.task_clock_ns - all.schedstat_ns) / 1e6, 1) + " (" +
             fixed(*x.steal_ns / 1e6, 1) + ")";
    });
    for (const SideCost* x : {c, s}) {
      if (!x) continue;
      const char* who = x == c ? "client" : "server";
      if (!x->reason.empty()) out_ << "  " << who << ": " << x->reason << "\n";
      if (!x->hardware_reason.empty() && x->level >= CostLevel::kCounters)
        out_ << "  " << who << ": " << x->hardware_reason << "\n";
      if (x->lost_records)
        out_ << "  " << who << ": " << x->lost_records << " trace records lost\n";
      if (x->bpf_run) out_ << "  " << who << ": " << bpf_run_text(*x) << "\n";
      if (!x->bpf_programs.empty() && x->bpf_programs != "own")
        out_ << "  " << who << ": bpf programs: " << x->bpf_programs << "\n";
    }
    const SideCost* any = c ? c : s;
    if (any->traced) out_ << "  attribution: " << attribution_rule(*any) << "\n";
  }

  // Tests the server ran beside this one took CPU, cache and socket time from it.
  void overlap_note(const Report& r) {
    const Overlap* o = server_overlap(r);
    if (!o || o->tests == 0) return;
    out_ << "Note: " << o->tests << " other test" << (o->tests > 1 ? "s" : "")
         << " ran on the server during this test";
    if (!o->peers.empty()) {
      out_ << " (";
      for (std::size_t i = 0; i < o->peers.size(); ++i) out_ << (i ? ", " : "") << o->peers[i];
      out_ << (std::size_t(o->tests) > o->peers.size() ? ", ..." : "") << ")";
    }
    out_ << "; concurrent tests disturb each other's figures.\n";
  }

  void cpu_line(const Report& r) {
    if (!r.local.cpu.valid) return;
    auto one = [](const CpuUsage& c) {
      return fixed(c.total, 1) + "% (" + fixed(c.user, 1) + "%u/" + fixed(c.system, 1) + "%s)";
    };
    bool sends = local_sends(r);
    out_ << "CPU Utilization: local/" << (sends ? "sender " : "receiver ") << one(r.local.cpu);
    if (r.remote && r.remote->cpu.valid)
      out_ << ", remote/" << (sends ? "receiver " : "sender ") << one(r.remote->cpu)
           << (peer_is_iperf3(r) ? " as iperf3 reports it" : "");
    out_ << "\n";
  }

  std::ostream& out_;
  std::ostream& err_;
  bool verbose_;
  char unit_;  // -f
  bool header_done_ = false;
};

class JsonReporter final : public Reporter {
 public:
  explicit JsonReporter(std::ostream& out) : out_(out) {}
  void on_start(const Report&) override {}
  void on_interval(const Report&, const IntervalRecord&) override {}
  void on_end(const Report& r) override { out_ << report_json(r).dump(4) << "\n" << std::flush; }
  void on_error(const Report& r, const Error& e) override {
    Report copy = r;
    copy.error = e;
    on_end(copy);
  }

 private:
  std::ostream& out_;
};

class JsonStreamReporter final : public Reporter {
 public:
  explicit JsonStreamReporter(std::ostream& out) : out_(out) {}
  void on_start(const Report& r) override {
    Json data = start_json(r);
    data["context"] = r.context;
    emit("start", data);
  }
  void on_interval(const Report& r, const IntervalRecord& iv) override {
    emit("interval", interval_json(r, iv));
  }
  void on_end(const Report& r) override {
    if (r.error) emit("error", r.error->message);
    Json data = end_json(r);
    if (!r.thresholds.empty()) data["thresholds"] = thresholds_json(r);
    if (!r.server_output_text.empty()) data["server_output_text"] = r.server_output_text;
    if (r.interrupted) data["interrupted"] = true;
    emit("end", data);
  }
  void on_error(const Report&, const Error& e) override { emit("error", e.message); }

 private:
  void emit(const char* event, const Json& data) {
    out_ << Json{{"event", event}, {"data", data}}.dump() << "\n" << std::flush;
  }
  std::ostream& out_;
};

}  // namespace

void TeeReporter::on_start(const Report& r) {
  for (auto& t : targets_) t->on_start(r);
}
void TeeReporter::on_interval(const Report& r, const IntervalRecord& iv) {
  for (auto& t : targets_) t->on_interval(r, iv);
}
void TeeReporter::on_end(const Report& r) {
  for (auto& t : targets_) t->on_end(r);
}
void TeeReporter::on_error(const Report& r, const Error& e) {
  for (auto& t : targets_) t->on_error(r, e);
}

std::unique_ptr<Reporter> make_reporter(Format format, std::ostream& out, std::ostream& err,
                                        bool verbose, char rate_unit) {
  switch (format) {
    case Format::kJson:
      return std::make_unique<JsonReporter>(out);
    case Format::kJsonStream:
      return std::make_unique<JsonStreamReporter>(out);
    case Format::kJsonStreamFull: {
      // The stream's "end" line first, then the whole document, as iperf3 3.21 prints them.
      auto both = std::make_unique<TeeReporter>();
      both->add(std::make_unique<JsonStreamReporter>(out));
      both->add(std::make_unique<JsonReporter>(out));
      return both;
    }
    case Format::kText:
      break;
  }
  return std::make_unique<TextReporter>(out, err, verbose, rate_unit);
}

}  // namespace nicperf
