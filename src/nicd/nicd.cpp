#include "nicd/nicd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "nicd/port.hpp"
#include "nicd/queue.hpp"
#include "nicperf/util/clock.hpp"
#include "nicperf/util/netns.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf::nic {

const char* direction_name(Direction d) {
  return d == Direction::kCliToSrv ? "cli_to_srv" : "srv_to_cli";
}

namespace {

constexpr unsigned kXdpMaxMtu = 3500;  // veth's XDP limit without multi-buffer (a page per frame)

// Why `c` cannot run: the xdp backend's limits, said once, never worked around in silence.
std::optional<std::string> xdp_refusal(const NicdConfig& c) {
  if (c.backend != Backend::kXdp) return std::nullopt;
#ifndef NICPERF_HAVE_XDP
  return "--backend xdp needs libxdp, and this nicperf-nicd was built without it "
         "(pkg-config libxdp); use --backend tap";
#endif
  if (c.settings.tso) {
    return "--backend xdp carries MTU frames only (AF_XDP descriptors carry no GSO metadata, "
           "so a TSO super-frame cannot leave as one frame, and libxdp 1.3's redirect program "
           "is not XDP multi-buffer capable): use --tso off, or --backend tap";
  }
  if (c.mtu > kXdpMaxMtu) {
    return "--backend xdp takes --mtu up to " + std::to_string(kXdpMaxMtu) +
           " (one page per frame without XDP multi-buffer); use --backend tap";
  }
  return std::nullopt;
}

// Why xdp cannot carry what `c` asks for, whatever backend `c` names.
std::optional<std::string> xdp_refusal_for(const NicdConfig& c) {
  NicdConfig x = c;
  x.backend = Backend::kXdp;
  return xdp_refusal(x);
}

// Why this backend runs, for `info`.
std::string backend_choice(const NicdConfig& c) {
  if (!c.backend_auto) return std::string("--backend ") + backend_name(c.backend);
  if (auto why = xdp_refusal_for(c)) return "auto: tap, since " + *why;
  return "auto: xdp, since the frames are MTU-sized (--tso off), where bench/nicd_vs_veth.sh "
         "measured it faster than the tap backend (see nicperf-nicd(8), BACKENDS)";
}

nlohmann::json backend_info(const NicdConfig& c) {
  if (c.backend == Backend::kTap) {
    return {{"name", "tap"},
            {"chosen", backend_choice(c)},
            {"tso", true},
            {"gro", true},
            {"large_frames", true}};
  }
  return {
      {"chosen", backend_choice(c)},
      {"name", "xdp"},
      {"tso", false},
      {"gro", true},
      {"large_frames", false},
      {"max_mtu", kXdpMaxMtu},
      {"xsk_ring", 4096},  // XskPort::kDeviceRing (no libxdp header here)
      {"rx_descriptors", "the fill ring: --ring UMEM buffers circulate, a full ring drops"},
      {"note", "AF_XDP copy mode on veth, MTU frames; TSO/GRO super-frames need --backend tap"}};
}

}  // namespace

const char* backend_name(Backend b) { return b == Backend::kTap ? "tap" : "xdp"; }

Backend auto_backend(const NicdConfig& c) {
  return xdp_refusal_for(c) ? Backend::kTap : Backend::kXdp;
}

Expected<Backend> parse_backend(const std::string& name) {
  if (name == "tap") return Backend::kTap;
  if (name == "xdp") return Backend::kXdp;
  return Error{Errc::kUsage, "--backend takes auto, tap or xdp, not '" + name + "'"};
}

Status validate(const NicdConfig& c) {
  if (auto why = xdp_refusal(c)) return Error{Errc::kUsage, *why};
  if (c.queues < 1 || c.queues > 16) return Error{Errc::kUsage, "--queues takes 1 to 16"};
  if (c.mtu < 576 || c.mtu > 9000) return Error{Errc::kUsage, "--mtu takes 576 to 9000"};
  for (const auto& ns : {c.cli_ns, c.srv_ns}) {
    if (ns.rfind(kNsPrefix, 0) != 0 || ns.size() > 40 ||
        ns.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
      return Error{Errc::kUsage, "namespace '" + ns + "' must start with '" + kNsPrefix +
                                     "' and use a-z, 0-9 and '-' only"};
    }
  }
  if (c.cli_ns == c.srv_ns) return Error{Errc::kUsage, "the two namespaces must differ"};
  if (c.socket.empty() || c.socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Error{Errc::kUsage, "the control socket path is empty or too long"};
  }
  return ok();
}

Nicd::Nicd(NicdConfig c) : config_(std::move(c)) { shared_.settings = config_.settings; }

Expected<std::unique_ptr<Nicd>> Nicd::up(const NicdConfig& c) {
  if (auto s = validate(c); !s) return s.error();
  if (auto why = missing_net_admin("nicperf-nicd")) return Error{Errc::kAccessDenied, *why};
  if (auto live = NicdClient::connect(c.socket)) {
    return Error{Errc::kUsage, "a nicperf-nicd already serves " + c.socket +
                                   ": stop it first with 'nicperf-nicd down'"};
  }
  std::unique_ptr<Nicd> d(new Nicd(c));
  for (auto step :
       {&Nicd::make_namespaces, &Nicd::make_devices, &Nicd::start_threads, &Nicd::bind_socket}) {
    if (auto s = (d.get()->*step)(); !s) return s.error();
  }
  return d;
}

std::string Nicd::tap_name(Direction side_of) const {
  if (config_.backend == Backend::kXdp) {
    return side_of == Direction::kCliToSrv ? "npveth-cli" : "npveth-srv";
  }
  return side_of == Direction::kCliToSrv ? "nptap-cli" : "nptap-srv";
}

// An earlier daemon that crashed left its namespaces (its taps went with its fds; its veths, and
// the XDP programs on them, go with nicd's own namespace): clear them.
Status Nicd::make_namespaces() {
  for (const auto& ns : {config_.cli_ns, config_.srv_ns, nicd_ns()}) {
    if (auto s = netns_delete(ns); !s) return s;
  }
  namespaces_made_ = true;
  for (const auto& ns : {config_.cli_ns, config_.srv_ns}) {
    if (auto s = netns_add(ns); !s) return s;
  }
  return ok();
}

Status Nicd::make_devices() {
#ifdef NICPERF_HAVE_XDP
  if (config_.backend == Backend::kXdp) return make_veths();
#endif
  return make_taps();
}

Status Nicd::make_taps() {
  struct Side {
    std::string ns, dev, addr;
    std::vector<int>* fds;
    int* sock;
  };
  for (Side side : {Side{config_.cli_ns, tap_name(Direction::kCliToSrv), config_.cli_addr,
                         &cli_taps_, &cli_sock_},
                    Side{config_.srv_ns, tap_name(Direction::kSrvToCli), config_.srv_addr,
                         &srv_taps_, &srv_sock_}}) {
    auto made = in_netns(side.ns, [&]() -> Status {
      auto fds = open_tap({side.dev, config_.queues, config_.settings.tso});
      if (!fds) return fds.error();
      *side.fds = std::move(*fds);
      *side.sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (*side.sock < 0) return Error{Errc::kSystem, errno_text("socket", errno)};
      return set_gro(*side.sock, side.dev, config_.settings.gro);
    });
    if (!made) return made;
    auto& ports = side.fds == &cli_taps_ ? cli_ports_ : srv_ports_;
    for (int fd : *side.fds) ports.push_back(std::make_unique<TapPort>(fd));
    std::string prefix = side.addr + "/" + std::to_string(config_.prefix_len);
    std::string mtu = std::to_string(config_.mtu);
    for (auto argv : std::vector<std::vector<std::string>>{
             {"ip", "-n", side.ns, "link", "set", "lo", "up"},
             {"ip", "-n", side.ns, "link", "set", side.dev, "mtu", mtu, "up"},
             {"ip", "-n", side.ns, "addr", "add", prefix, "dev", side.dev, "nodad"}}) {
      if (auto s = run_command(argv); !s) return s;
    }
  }
  return ok();
}

Status Nicd::start_threads() {
  for (unsigned q = 0; q < config_.queues; ++q) {
    auto cpu_of = [q](const std::vector<int>& cpus) {
      return cpus.empty() ? -1 : cpus[q % cpus.size()];
    };
    auto all = [](const std::vector<std::unique_ptr<Port>>& ports) {
      std::vector<Port*> out;
      for (const auto& p : ports) out.push_back(p.get());
      return out;
    };
    workers_.push_back(std::make_unique<QueueWorker>(Direction::kCliToSrv, q, *cli_ports_[q],
                                                     all(srv_ports_), cpu_of(config_.srv_irq_cpus),
                                                     shared_));
    workers_.push_back(std::make_unique<QueueWorker>(Direction::kSrvToCli, q, *srv_ports_[q],
                                                     all(cli_ports_), cpu_of(config_.cli_irq_cpus),
                                                     shared_));
  }
  for (auto& w : workers_) w->start();
  for (int i = 0; i < 1000 && std::any_of(workers_.begin(), workers_.end(),
                                          [](auto& w) { return w->tid() == 0; });
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  busy_at_reset_.assign(workers_.size(), 0);
  reset_at_ns_ = monotonic_ns();
  return ok();
}

Status Nicd::bind_socket() {
  unlink(config_.socket.c_str());  // a stale file of a crashed daemon: nobody answered on it
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return Error{Errc::kSystem, errno_text("socket", errno)};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", config_.socket.c_str());
  // The socket starts 0600: the umask closes the window between bind and chmod.
  mode_t old = umask(0177);
  int rc = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || listen(listen_fd_, 16) != 0) {
    return Error{Errc::kSystem, errno_text("control socket " + config_.socket, errno)};
  }
  return ok();
}

Nicd::~Nicd() {
  shared_.stop = true;
  for (auto& w : workers_) w->join();
  workers_.clear();
#ifdef NICPERF_HAVE_XDP
  if (config_.backend == Backend::kXdp) remove_veths();
#endif
  cli_ports_.clear();
  srv_ports_.clear();
  for (int fd : cli_taps_) close(fd);
  for (int fd : srv_taps_) close(fd);
  for (int fd : {cli_sock_, srv_sock_}) {
    if (fd >= 0) close(fd);
  }
  // The socket goes last: `down` waits for it to vanish, and then nothing else may be left.
  if (namespaces_made_) {
    for (const auto& ns : {config_.cli_ns, config_.srv_ns, nicd_ns()}) netns_delete(ns);
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(config_.socket.c_str());
  }
}

nlohmann::json Nicd::info() const {
  nlohmann::json threads = nlohmann::json::array();
  for (const auto& w : workers_) {
    bool c2s = w->direction() == Direction::kCliToSrv;
    threads.push_back({{"tid", w->tid()},
                       {"direction", direction_name(w->direction())},
                       {"queue", w->queue()},
                       {"cpu", w->cpu()},
                       {"delivers_to", c2s ? "srv" : "cli"}});
  }
  NicSettings s;
  {
    std::lock_guard lock(const_cast<Shared&>(shared_).mutex);
    s = shared_.settings;
  }
  return {{"pid", getpid()},
          {"version", NICPERF_VERSION},
          {"backend", backend_info(config_)},
          {"queues", config_.queues},
          {"mtu", config_.mtu},
          {"namespaces", {{"cli", config_.cli_ns}, {"srv", config_.srv_ns}}},
          {"addresses", {{"cli", config_.cli_addr}, {"srv", config_.srv_addr}}},
          {"devices",
           {{"cli", tap_name(Direction::kCliToSrv)}, {"srv", tap_name(Direction::kSrvToCli)}}},
          {"threads", threads},
          {"settings", to_json(s)}};
}

nlohmann::json Nicd::stats() const {
  nlohmann::json dirs = {{"cli_to_srv", nlohmann::json::array()},
                         {"srv_to_cli", nlohmann::json::array()}};
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const auto& w = *workers_[i];
    double busy = 0;
    read_schedstat(w.tid(), busy);
    nlohmann::json q = w.counters().to_json();
    q["queue"] = w.queue();
    q["tid"] = w.tid();
    q["steered"] = w.steered();
    q["rx_usecs_now"] = w.coalesce_usecs();
    q["busy_ns"] = std::max(0.0, busy - static_cast<double>(busy_at_reset_[i]));
    dirs[direction_name(w.direction())].push_back(q);
  }
  return {{"interval_ns", monotonic_ns() - reset_at_ns_}, {"directions", dirs}};
}

Status Nicd::reset() {
  std::uint64_t epoch = shared_.reset_epoch.fetch_add(1) + 1;
  for (auto& w : workers_) w->wake();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (auto& w : workers_) {
    while (!w->acked_reset(epoch)) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Error{Errc::kTimeout, "a queue thread did not take the reset within 2 s"};
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    double busy = 0;
    read_schedstat(workers_[i]->tid(), busy);
    busy_at_reset_[i] = static_cast<std::uint64_t>(busy);
  }
  reset_at_ns_ = monotonic_ns();
  return ok();
}

Status Nicd::set(const nlohmann::json& settings) {
  NicSettings before;
  {
    std::lock_guard lock(shared_.mutex);
    before = shared_.settings;
  }
  NicSettings next = before;
  if (auto s = apply_settings(next, settings); !s) return s;
  NicdConfig check = config_;
  check.settings = next;
  if (auto why = xdp_refusal(check)) return Error{Errc::kUsage, *why};
  if (next.tso != before.tso && config_.backend == Backend::kTap) {
    for (const auto* fds : {&cli_taps_, &srv_taps_}) {
      for (int fd : *fds) {
        if (auto s = set_tap_offload(fd, next.tso); !s) return s;
      }
    }
  }
  if (next.gro != before.gro) {
    if (auto s = set_gro(cli_sock_, tap_name(Direction::kCliToSrv), next.gro); !s) return s;
    if (auto s = set_gro(srv_sock_, tap_name(Direction::kSrvToCli), next.gro); !s) return s;
  }
  {
    std::lock_guard lock(shared_.mutex);
    shared_.settings = next;
  }
  shared_.settings_epoch.fetch_add(1, std::memory_order_release);
  for (auto& w : workers_) w->wake();
  return ok();
}

}  // namespace nicperf::nic
