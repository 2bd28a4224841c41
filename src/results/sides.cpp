// Which side sends the data, and the figures that follow from it.
#include "nicperf/results/results.hpp"

namespace nicperf {

const char* side_name(Side s) { return s == Side::kClient ? "client" : "server"; }

Side data_sender(Direction direction) {
  return direction == Direction::kReverse ? Side::kServer : Side::kClient;
}

Side data_sender(const TestSpec& spec) { return data_sender(spec.direction); }

Side data_sender(const TestSpec& spec, int id) {
  return client_sends(spec, id) ? Side::kClient : Side::kServer;
}

Side data_receiver(const TestSpec& spec) { return other(data_sender(spec)); }

Side group_sender(const TestSpec& spec, bool reverse_group) {
  return reverse_group ? Side::kServer : data_sender(spec);
}

Side local_side(const Report& r) { return r.is_client ? Side::kClient : Side::kServer; }

bool local_sends(const Report& r) { return data_sender(r.spec) == local_side(r); }

bool local_sends(const Report& r, int id) { return data_sender(r.spec, id) == local_side(r); }

bool local_receives_any(const Report& r) {
  for (int id = 0; id < connection_count(r.spec); ++id)
    if (!local_sends(r, id)) return true;
  return false;
}

const SideEnd* side_end(const Report& r, Side s) {
  if (s == local_side(r)) return &r.local;
  return r.remote ? &*r.remote : nullptr;
}

const SideCost* side_cost(const Report& r, Side s) {
  const SideEnd* e = side_end(r, s);
  return e && e->cost ? &*e->cost : nullptr;
}

const SideCost* client_cost(const Report& r) { return side_cost(r, Side::kClient); }

const SideCost* server_cost(const Report& r) { return side_cost(r, Side::kServer); }

const Overlap* server_overlap(const Report& r) {
  const SideEnd* e = side_end(r, Side::kServer);
  return e && e->overlap ? &*e->overlap : nullptr;
}

const nic::NicDirection* data_direction(const Report& r) {
  if (!r.nic) return nullptr;
  std::string way = data_sender(r.spec) == Side::kClient ? "cli_to_srv" : "srv_to_cli";
  for (const auto& d : r.nic->directions)
    if (d.name == way) return &d;
  return nullptr;
}

ReceiverLoad receiver_load(const Report& r) {
  ReceiverLoad load;
  if (r.nic) {
    // The NIC counts the interrupts it raised for the data, whichever CPU took them.
    const nic::NicDirection* d = data_direction(r);
    if (d && r.nic->interval_s > 0)
      load.interrupts_per_s = double(d->total().interrupts) / r.nic->interval_s;
  }
  const SideCost* rx = side_cost(r, data_receiver(r.spec));
  if (!rx || rx->wall_s <= 0) return load;
  double window_ns = rx->wall_s * 1e9;
  load.cpu_percent = 100.0 * rx->streams.cpu_ns() / window_ns;
  if (!rx->napi.empty()) {
    std::uint64_t polls = 0, at_budget = 0;
    for (const auto& n : rx->napi) {
      polls += n.polls;
      at_budget += n.budget_exhausted;
    }
    load.napi_budget_share = polls ? double(at_budget) / double(polls) : 0.0;
  }
  if (!rx->softnet.empty()) {
    load.time_squeeze = 0;
    for (const auto& s : rx->softnet) *load.time_squeeze += s.time_squeeze;
  }
  if (!rx->traced) return load;
  // System-wide: the receiving host's NET_RX wherever it ran (on the NIC's queue threads with
  // IFF_NAPI, or on whichever CPU took the interrupt).
  auto net_rx = rx->traced_total.softirq[std::size_t(kNetRx)].ns;
  load.net_rx_cpu_percent = 100.0 * double(net_rx) / window_ns;
  if (!r.nic) load.interrupts_per_s = double(rx->traced_total.hardirq.count) / rx->wall_s;
  return load;
}

}  // namespace nicperf
