// How UDP streams find their peer. The server opens one UDP socket per stream, bound to the
// address its control connection arrived on, and names their ports in its "accept". The
// client connects a socket to each port and repeats the stream's data greeting until the
// server echoes it; the server connects its socket to wherever the greeting came from. Lost
// greetings and lost echoes are both repeated, so a lossy path (nicd --loss) still connects.
#pragma once

#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nicperf/control/channel.hpp"
#include "session/side_run.hpp"

namespace nicperf {

class UdpRendezvous {
 public:
  UdpRendezvous(EventLoop& loop, std::string cookie);
  ~UdpRendezvous();
  // One socket per stream on `local`, each on a free port.
  Status open(const asio::ip::address& local, int count, const TestSpec& spec);
  std::vector<int> ports() const;
  // Streams whose greeting came: (stream id, connected fd, the caller's to own).
  std::deque<std::pair<int, int>>& arrived() { return arrived_; }
  // Stops answering; call before the test starts (the data would go to the greeting reader).
  void close();

 private:
  struct Slot;
  void arm(const std::shared_ptr<Slot>& slot);
  void answer(Slot& slot, std::size_t n);
  EventLoop& loop_;
  std::string cookie_;
  std::vector<std::shared_ptr<Slot>> slots_;
  std::deque<std::pair<int, int>> arrived_;
};

// The client's side: connects one UDP socket per stream to the server's ports and adds each
// stream to `run` once the server echoed its greeting.
Status open_udp_streams(EventLoop& loop, SideRun& run, const asio::ip::address& server,
                        const std::vector<int>& ports, Clock::time_point deadline,
                        const TestSpec& spec, const std::string& cookie);

// The ports of an "accept" frame, checked: one per connection, each 1-65535.
Expected<std::vector<int>> udp_ports_of(const Json& accept, int connections);

}  // namespace nicperf
