// The cost figures' JSON form: one side's SideCost as the report and the peer exchange it.
#include <limits>
#include <nlohmann/json.hpp>

#include "nicperf/cost/cost.hpp"

namespace nicperf {
namespace {

using Json = nlohmann::json;

Json charge_json(const IrqCharge& c) { return {{"ns", c.ns}, {"count", c.count}}; }

Json share_json(const IrqShare& s) {
  return {{"net_rx", charge_json(s.net_rx)},
          {"net_tx", charge_json(s.net_tx)},
          {"softirq_other", charge_json(s.softirq_other)},
          {"hardirq", charge_json(s.hardirq)}};
}

Json counters_json(const CounterValues& v) {
  Json j = {{"task_clock_ns", v.task_clock_ns},
            {"context_switches", v.context_switches},
            {"cpu_migrations", v.migrations},
            {"page_faults", v.page_faults},
            {"utime_s", v.utime_s},
            {"stime_s", v.stime_s},
            {"schedstat_ns", v.schedstat_ns}};
  if (v.has_hardware) {
    j["cycles"] = v.cycles;
    j["instructions"] = v.instructions;
    j["cycles_user"] = v.cycles_user;
    j["cycles_kernel"] = v.cycles_kernel;
    j["multiplexed_share"] = v.multiplexed_share();
  }
  return j;
}

IrqCharge charge_from(const Json& j) {
  return {j.at("ns").get<std::uint64_t>(), j.at("count").get<std::uint64_t>()};
}

IrqShare share_from(const Json& j) {
  IrqShare s;
  s.net_rx = charge_from(j.at("net_rx"));
  s.net_tx = charge_from(j.at("net_tx"));
  s.softirq_other = charge_from(j.at("softirq_other"));
  s.hardirq = charge_from(j.at("hardirq"));
  return s;
}

CounterValues counters_from(const Json& j) {
  CounterValues v;
  v.task_clock_ns = j.at("task_clock_ns").get<double>();
  v.context_switches = j.at("context_switches").get<std::uint64_t>();
  v.migrations = j.at("cpu_migrations").get<std::uint64_t>();
  v.page_faults = j.at("page_faults").get<std::uint64_t>();
  v.utime_s = j.at("utime_s").get<double>();
  v.stime_s = j.at("stime_s").get<double>();
  v.schedstat_ns = j.at("schedstat_ns").get<double>();
  if (j.contains("cycles")) {
    v.has_hardware = true;
    v.cycles = j.at("cycles").get<double>();
    v.instructions = j.at("instructions").get<double>();
    v.cycles_user = j.at("cycles_user").get<double>();
    v.cycles_kernel = j.at("cycles_kernel").get<double>();
  }
  return v;
}

// NAPI polls and softnet deltas (#15): arrays, present only when the side measured them.
constexpr std::size_t kMaxNapiRows = 4096, kMaxSoftnetRows = 4096;

Json napi_json(const std::vector<NapiCount>& rows) {
  Json out = Json::array();
  for (const auto& n : rows)
    out.push_back({{"dev", n.dev},
                   {"cpu", n.cpu},
                   {"polls", n.polls},
                   {"packets", n.packets},
                   {"budget_exhausted", n.budget_exhausted},
                   {"per_poll", n.per_poll}});
  return out;
}

Json softnet_json(const std::vector<SoftnetCount>& rows) {
  Json out = Json::array();
  for (const auto& s : rows) {
    Json j = {{"cpu", s.cpu},
              {"processed", s.processed},
              {"dropped", s.dropped},
              {"time_squeeze", s.time_squeeze}};
    if (s.received_rps) j["received_rps"] = *s.received_rps;
    if (s.flow_limit) j["flow_limit"] = *s.flow_limit;
    out.push_back(j);
  }
  return out;
}

std::vector<NapiCount> napi_from(const Json& j) {
  std::vector<NapiCount> rows;
  for (const auto& x : j.get_ref<const Json::array_t&>()) {
    if (rows.size() >= kMaxNapiRows) break;
    NapiCount n;
    n.dev = x.at("dev").get<std::string>().substr(0, 64);
    n.cpu = x.at("cpu").get<int>();
    n.polls = x.at("polls").get<std::uint64_t>();
    n.packets = x.at("packets").get<std::uint64_t>();
    n.budget_exhausted = x.at("budget_exhausted").get<std::uint64_t>();
    const auto& hist = x.at("per_poll");
    for (std::size_t i = 0; i < n.per_poll.size(); ++i)
      n.per_poll[i] = hist.at(i).get<std::uint64_t>();
    rows.push_back(n);
  }
  return rows;
}

std::vector<SoftnetCount> softnet_from(const Json& j) {
  std::vector<SoftnetCount> rows;
  for (const auto& x : j.get_ref<const Json::array_t&>()) {
    if (rows.size() >= kMaxSoftnetRows) break;
    SoftnetCount s;
    s.cpu = x.at("cpu").get<int>();
    s.processed = x.at("processed").get<std::uint64_t>();
    s.dropped = x.at("dropped").get<std::uint64_t>();
    s.time_squeeze = x.at("time_squeeze").get<std::uint64_t>();
    if (x.contains("received_rps")) s.received_rps = x.at("received_rps").get<std::uint64_t>();
    if (x.contains("flow_limit")) s.flow_limit = x.at("flow_limit").get<std::uint64_t>();
    rows.push_back(s);
  }
  return rows;
}

}  // namespace

Json to_json(const SideCost& c) {
  DerivedCost d = derive(c);
  Json per_stream = Json::array();
  for (const auto& s : c.per_stream)
    per_stream.push_back(
        {{"id", s.id},
         {"bytes", s.bytes},
         {"counters", counters_json(s.counters)},
         {"irq", share_json(s.irq)},
         {"cpu_ns_per_byte", s.bytes ? s.counters.cpu_ns() / double(s.bytes) : 0}});
  Json irqs = Json::array();
  for (const auto& [name, ch] : c.irqs)
    irqs.push_back({{"name", name}, {"ns", ch.ns}, {"count", ch.count}});
  Json derived = {{"cpu_percent", d.cpu_percent},
                  {"cpu_ns_per_byte", d.cpu_ns_per_byte},
                  {"cpu_seconds_per_gb", d.cpu_ns_per_byte},  // ns/byte == s/GB
                  {"cycles_per_byte", d.cycles_per_byte ? Json(*d.cycles_per_byte) : Json()},
                  {"ipc", d.ipc ? Json(*d.ipc) : Json()},
                  {"user_share", d.user_share},
                  {"kernel_share", d.kernel_share},
                  {"softirq_share", d.softirq_share},
                  {"hardirq_share", d.hardirq_share},
                  {"softirqs_per_gb", d.softirqs_per_gb},
                  {"net_rx_softirqs_per_gb", d.net_rx_per_gb},
                  {"interrupts_per_gb", d.interrupts_per_gb},
                  {"context_switches_per_gb", d.context_switches_per_gb},
                  {"collector_cpu_percent", d.collector_percent},
                  {"task_clock_vs_scheduler", d.task_clock_vs_scheduler}};
  Json j = {{"level", cost_level_name(c.level)},
            {"requested", cost_level_name(c.requested)},
            {"reason", c.reason},
            {"hardware_reason", c.hardware_reason},
            {"wall_seconds", c.wall_s},
            {"process_rusage_ns", c.process_rusage_ns},
            {"bytes", c.bytes},
            {"streams", counters_json(c.streams)},
            {"rest_of_process", counters_json(c.rest)},
            {"collector", counters_json(c.collector)},
            {"per_stream", per_stream},
            {"derived", derived},
            {"rule", attribution_rule(c)},
            {"irq_time_accounting", c.irq_time_accounting}};
  if (!c.napi.empty()) j["napi"] = napi_json(c.napi);
  if (!c.softnet.empty()) j["softnet"] = softnet_json(c.softnet);
  if (c.traced) {
    Json traced = Json::array(), proc = Json::array();
    for (int v = 0; v < kSoftirqVectors; ++v) {
      traced.push_back(c.traced_softirqs[std::size_t(v)]);
      proc.push_back(c.proc_softirqs[std::size_t(v)]);
    }
    j["attribution"] = {{"streams", share_json(c.streams_irq)},
                        {"rest_of_process", share_json(c.process_irq)},
                        {"peer_process", share_json(c.peer_irq)},
                        {"other", share_json(c.other_irq)},
                        {"peer_on_host", c.peer_on_host}};
    j["softirq_entries_traced"] = traced;
    j["softirq_entries_proc"] = proc;
    j["lost_records"] = c.lost_records;
    IrqShare total;
    total += c.traced_total;
    j["traced_total"] = share_json(total);
    j["irqs"] = irqs;
  }
  j["fallback_reason"] = c.reason;  // the ladder's why, under the name the bpf level added
  if (c.steal_ns) {
    CounterValues all = c.streams;
    all += c.rest;
    j["steal_switch"] = {{"task_clock_minus_scheduler_ns", all.task_clock_ns - all.schedstat_ns},
                         {"steal_ns", *c.steal_ns},
                         {"cpus", c.steal_cpus}};
  }
  if (!c.bpf_programs.empty()) j["bpf_programs"] = c.bpf_programs;
  if (c.crosscheck_ring && c.crosscheck_ring_streams)
    j["crosscheck_ring"] = {{"total", share_json(*c.crosscheck_ring)},
                            {"streams", share_json(*c.crosscheck_ring_streams)},
                            {"lost_records", c.crosscheck_ring_lost}};
  if (c.bpf_run) {
    // The in-kernel collector's own cost: each program run is one traced event.
    double wall_ns = c.wall_s * 1e9;
    j["collector_kernel"] = {
        {"run_ns", c.bpf_run->run_ns},
        {"events", c.bpf_run->runs},
        {"ns_per_event", c.bpf_run->ns_per_event()},
        {"events_per_second", c.wall_s > 0 ? double(c.bpf_run->runs) / c.wall_s : 0.0},
        {"cpu_percent", wall_ns > 0 ? 100.0 * double(c.bpf_run->run_ns) / wall_ns : 0.0}};
  }
  return j;
}

Expected<SideCost> cost_from_json(const Json& j) {
  try {
    SideCost c;
    auto level = parse_cost_level(j.at("level").get<std::string>());
    auto requested = parse_cost_level(j.at("requested").get<std::string>());
    if (!level || !requested) return Error{Errc::kProtocol, "peer cost has an unknown level"};
    c.level = *level;
    c.requested = *requested;
    c.reason = j.at("reason").get<std::string>().substr(0, 512);
    c.hardware_reason = j.at("hardware_reason").get<std::string>().substr(0, 512);
    c.wall_s = j.at("wall_seconds").get<double>();
    c.process_rusage_ns = j.at("process_rusage_ns").get<double>();
    c.bytes = j.at("bytes").get<std::uint64_t>();
    c.streams = counters_from(j.at("streams"));
    c.rest = counters_from(j.at("rest_of_process"));
    c.collector = counters_from(j.at("collector"));
    c.irq_time_accounting = j.at("irq_time_accounting").get<bool>();
    const auto& per_stream = j.at("per_stream");
    if (per_stream.size() > 512) return Error{Errc::kProtocol, "peer cost lists too many streams"};
    for (const auto& s : per_stream)
      c.per_stream.push_back({s.at("id").get<int>(), counters_from(s.at("counters")),
                              share_from(s.at("irq")), s.at("bytes").get<std::uint64_t>()});
    if (j.contains("napi")) c.napi = napi_from(j.at("napi"));
    if (j.contains("softnet")) c.softnet = softnet_from(j.at("softnet"));
    if (j.contains("attribution")) {
      const auto& a = j.at("attribution");
      c.traced = true;
      c.streams_irq = share_from(a.at("streams"));
      c.process_irq = share_from(a.at("rest_of_process"));
      c.peer_irq = share_from(a.at("peer_process"));
      c.other_irq = share_from(a.at("other"));
      c.peer_on_host = a.at("peer_on_host").get<bool>();
      c.lost_records = j.at("lost_records").get<std::uint64_t>();
      IrqShare total = share_from(j.at("traced_total"));
      c.traced_total.softirq[kNetRx] = total.net_rx;
      c.traced_total.softirq[kNetTx] = total.net_tx;
      c.traced_total.softirq[0] = total.softirq_other;  // the other vectors, summed
      c.traced_total.hardirq = total.hardirq;
      const auto& traced = j.at("softirq_entries_traced");
      const auto& proc = j.at("softirq_entries_proc");
      for (std::size_t v = 0; v < kSoftirqVectors && v < traced.size() && v < proc.size(); ++v) {
        c.traced_softirqs[v] = traced[v].get<std::uint64_t>();
        c.proc_softirqs[v] = proc[v].get<std::uint64_t>();
      }
      for (const auto& irq : j.at("irqs")) {
        if (c.irqs.size() >= 256) break;
        c.irqs.emplace_back(
            irq.at("name").get<std::string>().substr(0, 64),
            IrqCharge{irq.at("ns").get<std::uint64_t>(), irq.at("count").get<std::uint64_t>()});
      }
    }
    if (j.contains("steal_switch")) {
      c.steal_ns = j.at("steal_switch").at("steal_ns").get<double>();
      c.steal_cpus = j.at("steal_switch").at("cpus").get<int>();
    }
    if (j.contains("collector_kernel")) {
      const auto& k = j.at("collector_kernel");
      c.bpf_run =
          BpfRunCost{k.at("run_ns").get<std::uint64_t>(), k.at("events").get<std::uint64_t>()};
    }
    if (j.contains("bpf_programs"))
      c.bpf_programs = j.at("bpf_programs").get<std::string>().substr(0, 512);
    return c;
  } catch (const nlohmann::json::exception& e) {
    return Error{Errc::kProtocol, std::string("peer cost figures are malformed: ") + e.what()};
  }
}

nlohmann::json to_json(const BpfShareOffer& o) {
  nlohmann::json fds = nlohmann::json::object();
  for (const auto& [name, fd] : o.fds) fds[name] = fd;
  return {{"pid", o.pid}, {"fds", fds}};
}

std::optional<BpfShareOffer> share_offer_from_json(const nlohmann::json& j) {
  constexpr std::size_t kMaxEntries = 64, kMaxName = 64;
  constexpr int kMaxFd = 1 << 20;
  if (!j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer() || !j.contains("fds") ||
      !j["fds"].is_object() || j["fds"].size() > kMaxEntries)
    return std::nullopt;
  BpfShareOffer o;
  auto pid = j["pid"].get<std::int64_t>();
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return std::nullopt;
  o.pid = pid_t(pid);
  for (const auto& [name, fd] : j["fds"].items()) {
    if (name.size() > kMaxName || !fd.is_number_integer()) return std::nullopt;
    auto n = fd.get<std::int64_t>();
    if (n < 0 || n > kMaxFd) return std::nullopt;
    o.fds[name] = int(n);
  }
  return o;
}

}  // namespace nicperf
