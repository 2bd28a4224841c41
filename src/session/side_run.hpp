// SideRun: one side's part of a running test, shared by client and server. It owns the streams
// and the cost collector, keeps the clock (omit, duration, intervals, stop) and, on the main
// thread, asks each stream's worker for its figures to fill the local half of the Report.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "nicperf/control/channel.hpp"
#include "nicperf/cost/cost.hpp"
#include "nicperf/profile/profile.hpp"
#include "nicperf/report/reporter.hpp"
#include "nicperf/stream/payload.hpp"
#include "nicperf/stream/stream.hpp"
#include "nicperf/util/unique_fd.hpp"
#include "session/interval_cpu.hpp"
#include "session/nic_dev_watch.hpp"
#include "session/rate_limit.hpp"
#include "session/socket_facts.hpp"

namespace nicperf {

// How long past its planned end a side waits for the other's streams to end (the other side may
// start and stop later), and what each side adds to its wait for the other's results.
inline constexpr double kEndGraceSeconds = 10;

class SideRun {
 public:
  SideRun(Report& report, EventLoop& loop, Reporter& reporter);
  ~SideRun();

  // stall_s: abort when no byte moved for this long; max_s: abort a test running longer
  // (a server's --max-duration; 0 = no limit beyond the spec's own duration).
  void set_limits(double stall_s, double max_s);
  // --server-bitrate-limit: abort a test averaging more (rate_exceeded() then holds);
  // tell_peer runs first, while the data connections are still open.
  void set_rate_limit(const BitrateLimit& limit,
                      std::function<void(const Error&)> tell_peer = nullptr) {
    rate_window_.emplace(limit);
    tell_rate_peer_ = std::move(tell_peer);
  }
  bool rate_exceeded() const { return rate_exceeded_; }
  // Before prepare(): the claims of the tests sharing this process (a server's), for the cost.
  void share_process(ThreadClaims* claims) { claims_ = claims; }
  Status prepare();  // payload, CPU checks
  // Runs as the measured window opens (after -O): the NIC's counters start with the streams'.
  void set_window_hook(std::function<void()> begin) { on_begin_ = std::move(begin); }
  // Before add_stream(): UDP streams carry iperf3's datagram header, its sequence number this
  // wide (32 or 64), for a stock iperf3 peer.
  void set_iperf3_udp(int seq_bits) { iperf3_seq_bits_ = seq_bits; }
  // --nic-dev: the kernel device to report instead of the one holding the data connections.
  void set_nic_dev(std::string dev) { nic_dev_name_ = std::move(dev); }
  // After prepare(): the bpf level's program set offered to a peer on this kernel (server), and
  // the peer's taken in place of this side's own (client).
  std::optional<Json> bpf_offer() const;
  void join_bpf(const Json& offer);
  // Before prepare(), -F: this side's senders send the file, its receivers write to it.
  void set_file(std::string path) { file_ = std::move(path); }
  Status add_stream(int id, int fd);  // takes ownership of fd
  bool has_stream(int id) const;
  std::size_t stream_count() const { return streams_.size(); }
  void describe_connections();  // fills report.start.connected and socket facts
  void start();

  // Runs until every local stream is done. on_frame handles control frames; on_signal runs on
  // SIGINT/SIGTERM. A failed handler or a lost control connection aborts the streams.
  Status run(ControlChannel& control, const std::function<Status(const Frame&)>& on_frame,
             const std::function<void()>& on_signal);
  // The same loop for any control reader (an iperf3 peer's state bytes), ending when `done`
  // holds (default: every stream finished).
  template <class Msg>
  using Reader = std::function<Expected<std::optional<Msg>>(Clock::time_point deadline,
                                                            const std::function<bool()>& stop)>;
  using ControlRead = Reader<Json>;
  Status run(const ControlRead& read, const std::function<Status(const Json&)>& on_frame,
             const std::function<void()>& on_signal, const std::function<bool()>& done);
  bool time_up() const { return Clock::now() >= stop_at_; }
  bool senders_done() const;
  std::vector<int> sender_fds() const;
  std::uint64_t bytes_moved(bool senders) const;
  // Runs the clock until no byte has moved for `quiet` (at most `limit`): a peer that never
  // closes its data connections (iperf3) has then delivered what it sent.
  void wait_quiet(Clock::duration quiet, Clock::duration limit);
  // Waits (up to 5 s) until the kernel has delivered everything the senders wrote
  // (SIOCOUTQ empty): a peer that stops counting at a control message has it all by then.
  void wait_delivered();
  void stop_senders();
  void abort_streams();
  // Joins the streams and writes their end figures into report.local.
  void finish();
  std::optional<Error> stream_error() const;
  // The softirq time traced on top of the NIC's queue threads (after finish()).
  void attribute_nic_softirq(nic::NicStats& nic) const;

 private:
  // The loop behind both run()s, for native frames and for an iperf3 peer's state messages.
  template <class Msg>
  Status run_loop(const Reader<Msg>& read, const std::function<Status(const Msg&)>& on_frame,
                  const std::function<void()>& on_signal, const std::function<bool()>& done);
  Clock::time_point step(Clock::time_point now);
  void check_end(Clock::time_point now);
  void sample(Clock::time_point now);
  void begin_measurement(Clock::time_point now);
  bool streams_done() const;
  double since_origin(Clock::time_point t) const;
  int cpu_for(int id) const;
  int iperf3_seq_bits_ = 0;
  Status check_paths() const;
  bool sends_any() const;
  Status open_file();
  void attach_cost();
  void finish_cost(Clock::time_point end);

  struct Track {
    std::unique_ptr<Stream> stream;
    std::uint64_t last_bytes = 0;
    std::uint64_t omit_bytes = 0;
  };

  Report& report_;
  EventLoop& loop_;
  Reporter& reporter_;
  std::optional<Payload> payload_;
  std::string file_;  // -F
  UniqueFd sink_;     // -F on a receiving side
  std::unique_ptr<CostCollector> cost_;
  std::unique_ptr<ProfileSampler> profile_;  // --profile
  std::string profile_note_;                 // why there is no sampler
  ThreadClaims* claims_ = nullptr;
  std::vector<double> last_task_clock_;
  IntervalCpuMeter cpu_meter_;  // the chart's per-interval CPU of this side's stream threads
  std::vector<std::uint64_t> begin_bytes_;
  std::vector<Track> streams_;
  Clock::time_point t0_{}, origin_{}, last_tick_{}, next_tick_{}, stop_at_{};
  bool measuring_ = false, stopped_ = false;
  Clock::time_point last_progress_{};
  std::uint64_t progress_bytes_ = 0;
  std::optional<Error> run_error_;
  Clock::duration stall_timeout_ = std::chrono::seconds(10);
  double max_seconds_ = 0;
  std::optional<RateWindow> rate_window_;
  bool rate_exceeded_ = false;
  std::function<void(const Error&)> tell_rate_peer_;
  std::function<void()> on_begin_;
  std::optional<std::uint64_t> tx_drops0_;  // UDP: device_tx_drops() as the window opened
  NicDevWatch nic_dev_;
  std::string nic_dev_name_;
  void note_stream_cpus();
};

}  // namespace nicperf
