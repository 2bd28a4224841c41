// nicperf-nicd: the emulated NIC's command line (up, down, info, stats, reset, set).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <string_view>
#include <thread>

#include "nicd/nicd.hpp"
#include "nicperf/nic/nic_report.hpp"
#include "nicperf/util/netns.hpp"
#include "nicperf/util/units.hpp"

using namespace nicperf;
using namespace nicperf::nic;

namespace {

int fail(const Error& e) {
  // The control client names the daemon in its errors, for nicperf's; here it already is named.
  std::string_view msg = e.message;
  if (msg.starts_with("nicperf-nicd: ")) msg.remove_prefix(14);
  std::cerr << "nicperf-nicd: error: " << msg << "\n";
  return exit_code(e.code);
}

void block_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string summary(const nlohmann::json& info, const std::string& socket) {
  return "nicperf-nicd: up (pid " + std::to_string(info["pid"].get<int>()) +
         "): " + info["namespaces"]["cli"].get<std::string>() + " " +
         info["addresses"]["cli"].get<std::string>() + " <-> " +
         info["namespaces"]["srv"].get<std::string>() + " " +
         info["addresses"]["srv"].get<std::string>() + ", " +
         std::to_string(info["queues"].get<int>()) + " queue(s), control socket " + socket + "\n";
}

// The daemon reports through `ready` once it serves (or why it could not), so `up` exits only
// when the NIC works, with the daemon's own error and exit code otherwise.
int run_up(const NicdConfig& config, bool foreground) {
  block_signals();
  int pipefd[2] = {-1, -1};
  if (!foreground) {
    if (pipe2(pipefd, O_CLOEXEC) != 0) return fail({Errc::kSystem, errno_text("pipe", errno)});
    pid_t pid = fork();
    if (pid < 0) return fail({Errc::kSystem, errno_text("fork", errno)});
    if (pid > 0) {
      close(pipefd[1]);
      std::string msg;
      char buf[4096];
      for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) msg.append(buf, n);
      close(pipefd[0]);
      if (msg.empty()) return fail({Errc::kSystem, "the daemon died while starting"});
      int code = msg[0] - '0';
      (code == 0 ? std::cout : std::cerr) << msg.substr(1);
      return code == 0 ? 0
                       : exit_code(code == 2   ? Errc::kUsage
                                   : code == 8 ? Errc::kAccessDenied
                                               : Errc::kSystem);
    }
    close(pipefd[0]);
    setsid();
  }
  auto report = [&](int code, const std::string& text) {
    if (foreground) {
      (code == 0 ? std::cout : std::cerr) << text << std::flush;
      return;
    }
    std::string msg = std::to_string(code) + text;
    [[maybe_unused]] ssize_t n = write(pipefd[1], msg.data(), msg.size());
    close(pipefd[1]);
    int null = open("/dev/null", O_RDWR);
    for (int fd : {0, 1, 2}) dup2(null, fd);
    close(null);
  };
  auto nicd = Nicd::up(config);
  if (!nicd) {
    int code = nicd.error().code == Errc::kUsage          ? 2
               : nicd.error().code == Errc::kAccessDenied ? 8
                                                          : 7;
    report(code, "nicperf-nicd: error: " + nicd.error().message + "\n");
    return exit_code(nicd.error().code);
  }
  report(0, summary((*nicd)->info(), config.socket));
  (*nicd)->serve();
  return 0;
}

Expected<nlohmann::json> ask(const std::string& socket, const nlohmann::json& req) {
  auto client = NicdClient::connect(socket);
  if (!client) return client.error();
  return client->request(req);
}

// Down: ask the daemon, wait for it to finish its cleanup; if none answers, clear what a
// crashed one left.
int run_down(const std::string& socket, const NicdConfig& config) {
  if (auto why = missing_net_admin("nicperf-nicd down")) return fail({Errc::kAccessDenied, *why});
  if (auto reply = ask(socket, {{"cmd", "down"}})) {
    for (int i = 0; i < 1000 && access(socket.c_str(), F_OK) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::cout << "nicperf-nicd: down\n";
    return 0;
  }
  unlink(socket.c_str());
  for (const auto& ns : {config.cli_ns, config.srv_ns, config.cli_ns + "-nicd"}) {
    if (auto s = netns_delete(ns); !s) return fail(s.error());
  }
  std::cout << "nicperf-nicd: no daemon was running; cleared its namespaces and socket\n";
  return 0;
}

int run_set(const std::string& socket, const std::vector<std::string>& pairs) {
  nlohmann::json settings = nlohmann::json::object();
  NicSettings check;
  for (const auto& p : pairs) {
    auto eq = p.find('=');
    if (eq == std::string::npos)
      return fail({Errc::kUsage, "set takes key=value, not '" + p + "'"});
    if (auto s = apply_setting(check, p.substr(0, eq), p.substr(eq + 1)); !s)
      return fail(s.error());
    settings[p.substr(0, eq)] = p.substr(eq + 1);
  }
  auto reply = ask(socket, {{"cmd", "set"}, {"settings", settings}});
  if (!reply) return fail(reply.error());
  std::cout << (*reply)["settings"].dump() << "\n";
  return 0;
}

int run_query(const std::string& socket, const std::string& cmd, bool json) {
  auto reply = ask(socket, {{"cmd", cmd}});
  if (!reply) return fail(reply.error());
  reply->erase("ok");
  if (json || cmd != "stats") {
    std::cout << reply->dump(2) << "\n";
    return 0;
  }
  auto stats = nic_stats_from_json(*reply);
  if (!stats) return fail(stats.error());
  std::cout << nic_table(*stats);
  return 0;
}

struct UpStrings {
  std::string both, cli, srv;
  std::string backend = "auto";  // parsed with the other strings
};

// --cli-irq-cpus and --srv-irq-cpus override --irq-cpus for their host.
Status fill_cpus(const UpStrings& in, NicdConfig& c) {
  for (auto [text, out] : {std::pair{&in.both, &c.cli_irq_cpus},
                           {&in.both, &c.srv_irq_cpus},
                           {&in.cli, &c.cli_irq_cpus},
                           {&in.srv, &c.srv_irq_cpus}}) {
    if (text->empty()) continue;
    auto list = parse_cpu_list(*text);
    if (!list) return list.error();
    *out = *list;
  }
  return ok();
}

void add_up_options(CLI::App* up, NicdConfig& c, bool& foreground, std::string& rate,
                    std::string& tso, std::string& gro, UpStrings& cpus) {
  up->add_option("--backend", cpus.backend,
                 "tap: TAP devices; xdp: veths and AF_XDP sockets (MTU frames, --tso off); "
                 "auto: xdp where it can carry the frames, tap otherwise")
      ->capture_default_str();
  up->add_option("--queues", c.queues, "queues per direction (1-16)")->capture_default_str();
  up->add_option("--ring", c.settings.ring, "descriptors per ring (xdp backend: 4096)")
      ->capture_default_str();
  up->add_option("--rx-usecs", c.settings.coalesce.rx_usecs, "RX coalescing delay (us)")
      ->capture_default_str();
  up->add_option("--rx-frames", c.settings.coalesce.rx_frames, "RX coalescing frame count")
      ->capture_default_str();
  up->add_flag("--adaptive", c.settings.coalesce.adaptive, "adaptive RX coalescing");
  up->add_option("--tso", tso, "on: pass GSO super-frames, off: the kernel segments")
      ->capture_default_str();
  up->add_option("--gro", gro, "on: deliver super-frames, off: MTU frames")->capture_default_str();
  up->add_option("--rate", rate, "link rate limit, e.g. 10G (0: none)")->capture_default_str();
  up->add_option("--delay", c.settings.link.delay_us, "one-way link delay (us)")
      ->capture_default_str();
  up->add_option("--mtu", c.mtu, "MTU of both taps")->capture_default_str();
  up->add_option("--busy-poll", c.settings.busy_poll_us,
                 "spin up to this many us for the next frame before sleeping (0: never)")
      ->capture_default_str();
  up->add_option("--irq-cpus", cpus.both, "IRQ affinity of both hosts' RX queues, e.g. 0,1");
  up->add_option("--cli-irq-cpus", cpus.cli, "IRQ affinity of the client host's RX queues");
  up->add_option("--srv-irq-cpus", cpus.srv, "IRQ affinity of the server host's RX queues");
  up->add_option("--cli-ns", c.cli_ns, "client namespace")->capture_default_str();
  up->add_option("--srv-ns", c.srv_ns, "server namespace")->capture_default_str();
  up->add_flag("--foreground", foreground, "stay in the foreground (no daemon)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nicperf-nicd: a userspace NIC between two network namespaces"};
  app.require_subcommand(1);
  app.fallthrough();  // --socket may come after the subcommand too
  app.set_version_flag("-v,--version", std::string("nicperf-nicd ") + NICPERF_VERSION);
  NicdConfig config;
  bool foreground = false, json = false;
  std::string rate = "0", tso = "on", gro = "on", loss = "0";
  UpStrings cpus;
  std::vector<std::string> pairs;
  app.add_option("--socket", config.socket, "control socket")->capture_default_str();
  auto* up = app.add_subcommand("up", "create the namespaces and taps and run the NIC");
  add_up_options(up, config, foreground, rate, tso, gro, cpus);
  up->add_option("--loss", loss, "link loss (percent)")->capture_default_str();
  auto* down = app.add_subcommand("down", "stop the NIC and remove its namespaces");
  down->add_option("--cli-ns", config.cli_ns, "client namespace (when no daemon answers)");
  down->add_option("--srv-ns", config.srv_ns, "server namespace (when no daemon answers)");
  auto* info = app.add_subcommand("info", "queues, thread ids and settings (JSON)");
  auto* stats = app.add_subcommand("stats", "per-queue counters since the last reset");
  stats->add_flag("--json", json, "print JSON");
  auto* reset = app.add_subcommand("reset", "zero the counters");
  auto* set = app.add_subcommand("set", "change settings live: rx-usecs=0 rx-frames=1 ...");
  set->add_option("settings", pairs, "key=value pairs")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_code(Errc::kUsage);
  }
  if (up->parsed()) {
    for (auto [key, value] :
         {std::pair{"rate", rate}, {"tso", tso}, {"gro", gro}, {"loss", loss}}) {
      if (auto s = apply_setting(config.settings, key, value); !s) return fail(s.error());
    }
    if (auto s = fill_cpus(cpus, config); !s) return fail(s.error());
    if (cpus.backend == "auto") {
      config.backend_auto = true;
      config.backend = auto_backend(config);
    } else {
      auto backend = parse_backend(cpus.backend);
      if (!backend) return fail(backend.error());
      config.backend = *backend;
    }
    if (config.backend == Backend::kXdp && up->get_option("--ring")->count() == 0) {
      config.settings.ring = kXdpDefaultRing;
    }
    return run_up(config, foreground);
  }
  if (down->parsed()) return run_down(config.socket, config);
  if (set->parsed()) return run_set(config.socket, pairs);
  if (reset->parsed()) return run_query(config.socket, "reset", true);
  return run_query(config.socket, info->parsed() ? "info" : "stats", json);
  (void)stats;
}
