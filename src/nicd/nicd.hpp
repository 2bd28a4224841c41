// nicperf-nicd: a userspace NIC between two network namespaces. One device in each namespace (a
// TAP, or with the xdp backend one end of a veth pair whose other end nicd serves through AF_XDP
// sockets); per queue and direction a thread reads the sending device (the TX ring), runs the
// frame through the model (nic_model.hpp: ring, link, coalescer; nic_packet.hpp: RSS,
// segmentation) and writes it into the receiving device (the RX interrupt). Its control socket
// speaks JSON lines:
//   {"cmd":"info"} {"cmd":"stats"} {"cmd":"reset"} {"cmd":"set","settings":{...}} {"cmd":"down"}
// and every reply is one line {"ok":true,...} or {"ok":false,"error":"..."}.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nicd/nic_model.hpp"
#include "nicperf/nic/nicd_client.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf::nic {

enum class Backend { kTap, kXdp };
const char* backend_name(Backend b);                       // "tap", "xdp"
Expected<Backend> parse_backend(const std::string& name);  // "tap" or "xdp"
struct NicdConfig;
// `up --backend auto` (the default): the backend bench/nicd_vs_veth.sh measured faster for
// the frames `c` asks for, where this build and `c` allow it.
Backend auto_backend(const NicdConfig& c);

// The xdp backend's --ring when none is given. Its ring is the fill ring, and nothing paces
// the sending host's bursts into it as a wire would (a TAP's queue holds them back instead):
// through 256 buffers a TCP test lost one frame in eight and ran 2.1 Gbit/s; through 4096
// buffers none and 3.2-3.8 Gbit/s (3-s runs, --tso off --gro off).
constexpr std::uint32_t kXdpDefaultRing = 4096;

struct NicdConfig {
  Backend backend = Backend::kTap;
  bool backend_auto = false;  // picked by auto_backend(), said so in `info`
  unsigned queues = 1;
  unsigned mtu = 1500;
  NicSettings settings;
  // The IRQ affinity of each host's RX queues: the thread delivering into a host's queue q runs
  // on cpus[q % size] (empty: anywhere).
  std::vector<int> cli_irq_cpus, srv_irq_cpus;
  std::string socket = kDefaultSocket;
  std::string cli_ns = "nicperf-cli", srv_ns = "nicperf-srv";
  std::string cli_addr = "198.18.0.1", srv_addr = "198.18.0.2";
  unsigned prefix_len = 24;
};
Status validate(const NicdConfig& c);

enum class Direction { kCliToSrv = 0, kSrvToCli = 1 };
const char* direction_name(Direction d);  // "cli_to_srv", "srv_to_cli"

// Settings and epochs the control thread publishes to the queue threads.
struct Shared {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> settings_epoch{0}, reset_epoch{0};
  std::mutex mutex;  // guards settings
  NicSettings settings;
};

class QueueWorker;
class Port;

class Nicd {
 public:
  // Clears leftovers of an earlier crash, makes the namespaces, taps and addresses, starts the
  // queue threads and binds the control socket (mode 0600).
  static Expected<std::unique_ptr<Nicd>> up(const NicdConfig& c);
  ~Nicd();  // stops the threads, closes the taps, deletes the namespaces and the socket file
  Nicd(const Nicd&) = delete;
  Nicd& operator=(const Nicd&) = delete;

  // Serves the control socket until `down`, SIGTERM or SIGINT (blocked by the caller).
  void serve();
  nlohmann::json info() const;
  nlohmann::json stats() const;
  Status reset();
  Status set(const nlohmann::json& settings);

 private:
  explicit Nicd(NicdConfig c);
  Status make_namespaces();
  Status make_devices();
  Status make_taps();
  Status make_veths();  // nicd_xdp.cpp
  void remove_veths();
  std::string nicd_ns() const { return config_.cli_ns + "-nicd"; }
  Status start_threads();
  Status bind_socket();
  std::string tap_name(Direction side_of) const;

  NicdConfig config_;
  Shared shared_;
  std::vector<int> cli_taps_, srv_taps_;
  std::vector<std::unique_ptr<Port>> cli_ports_, srv_ports_;  // one per queue
  int cli_sock_ = -1, srv_sock_ = -1;                         // ethtool sockets in each namespace
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<QueueWorker>> workers_;
  std::uint64_t reset_at_ns_ = 0;
  std::vector<std::uint64_t> busy_at_reset_;
  bool namespaces_made_ = false;
};

}  // namespace nicperf::nic
