#include "session/udp_rendezvous.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>

#include "nicperf/control/protocol.hpp"

namespace nicperf {

using asio::ip::udp;

struct UdpRendezvous::Slot {
  explicit Slot(asio::io_context& io) : socket(io) {}
  int id = 0;
  udp::socket socket;
  udp::endpoint from;
  std::array<char, kGreetingSize + 1> buf{};
  bool connected = false;
};

UdpRendezvous::UdpRendezvous(EventLoop& loop, std::string cookie)
    : loop_(loop), cookie_(std::move(cookie)) {}

UdpRendezvous::~UdpRendezvous() {
  close();
  for (auto& [id, fd] : arrived_) ::close(fd);
}

Status UdpRendezvous::open(const asio::ip::address& local, int count, const TestSpec& spec) {
  for (int id = 0; id < count; ++id) {
    auto slot = std::make_shared<Slot>(loop_.io());
    slot->id = id;
    asio::error_code ec;
    udp::endpoint ep(local, 0);
    slot->socket.open(ep.protocol(), ec);
    if (!ec) slot->socket.bind(ep, ec);
    if (ec) return Error{Errc::kSystem, "cannot open a UDP socket for stream: " + ec.message()};
    if (auto st = apply_socket_options(slot->socket.native_handle(), spec); !st) return st;
    arm(slot);
    slots_.push_back(std::move(slot));
  }
  return ok();
}

std::vector<int> UdpRendezvous::ports() const {
  std::vector<int> out;
  for (const auto& s : slots_) {
    asio::error_code ec;
    out.push_back(s->socket.local_endpoint(ec).port());
  }
  return out;
}

// Every greeting is echoed, also after the socket is connected: the client repeats it until an
// echo arrives.
// Every greeting is echoed, also after the socket is connected: the client repeats it until an
// echo arrives. The handler holds its slot, so after close() it may still run once, later, and
// then finds the socket closed.
void UdpRendezvous::arm(const std::shared_ptr<Slot>& held) {
  held->socket.async_receive_from(
      asio::buffer(held->buf), held->from, [this, held](asio::error_code ec, std::size_t n) {
        Slot& slot = *held;
        if (ec == asio::error::operation_aborted || !slot.socket.is_open()) return;
        if (!ec && n == kGreetingSize) answer(slot, n);
        arm(held);
      });
}

void UdpRendezvous::answer(Slot& slot, std::size_t n) {
  auto g = decode_greeting({slot.buf.data(), n});
  bool ours = g && g->kind == ConnKind::kData && g->cookie == cookie_ && g->stream == slot.id;
  if (!ours) return;
  asio::error_code ec;
  if (!slot.connected) {
    slot.socket.connect(slot.from, ec);
    if (ec) return;
    slot.connected = true;
    // The stream gets its own descriptor; ours answers repeats until close().
    int fd = ::dup(slot.socket.native_handle());
    if (fd >= 0) arrived_.emplace_back(slot.id, fd);
  }
  slot.socket.send(asio::buffer(slot.buf.data(), n), 0, ec);
}

// release() takes the socket out of the event loop's epoll set before it is closed. A plain
// close() does not: asio skips EPOLL_CTL_DEL on close, but the stream's dup() keeps the file
// open, so the registration would live on and wake this thread for every datagram of the test
// (measured: 0.14 wake-ups of the server's main thread per 64-byte datagram, issue 19).
void UdpRendezvous::close() {
  for (auto& s : slots_) {
    if (!s->socket.is_open()) continue;
    asio::error_code ec;
    int fd = s->socket.release(ec);
    if (ec)
      s->socket.close(ec);  // could not deregister: nothing else to do but close
    else
      ::close(fd);
  }
  slots_.clear();
}

namespace {

struct ClientSlot {
  explicit ClientSlot(asio::io_context& io) : socket(io) {}
  udp::socket socket;
  std::array<char, kGreetingSize + 1> buf{};
  std::string hello;
  bool echoed = false;
};

Expected<std::shared_ptr<ClientSlot>> client_slot(EventLoop& loop, const udp::endpoint& ep,
                                                  const TestSpec& spec, std::string hello) {
  auto slot = std::make_shared<ClientSlot>(loop.io());
  asio::error_code ec;
  slot->socket.open(ep.protocol(), ec);
  if (!ec) {
    if (auto st = apply_socket_options(slot->socket.native_handle(), spec); !st) return st.error();
    slot->socket.connect(ep, ec);
  }
  if (ec) return Error{Errc::kConnect, "cannot open a UDP stream: " + ec.message()};
  slot->hello = std::move(hello);
  // The handler holds its slot: one cancelled by release() still runs once, after we return.
  slot->socket.async_receive(asio::buffer(slot->buf), [slot](asio::error_code e, std::size_t n) {
    if (!e && std::string_view(slot->buf.data(), n) == slot->hello) slot->echoed = true;
  });
  return slot;
}

}  // namespace

Status open_udp_streams(EventLoop& loop, SideRun& run, const asio::ip::address& server,
                        const std::vector<int>& ports, Clock::time_point deadline,
                        const TestSpec& spec, const std::string& cookie) {
  std::vector<std::shared_ptr<ClientSlot>> slots;
  for (std::size_t id = 0; id < ports.size(); ++id) {
    auto g = encode_greeting({ConnKind::kData, kProtocolVersion, int(id), cookie});
    auto slot = client_slot(loop, udp::endpoint(server, std::uint16_t(ports[id])), spec,
                            std::string(g.data(), g.size()));
    if (!slot) return slot.error();
    slots.push_back(std::move(*slot));
  }
  auto all = [&] {
    return std::all_of(slots.begin(), slots.end(), [](const auto& s) { return s->echoed; });
  };
  while (!all() && Clock::now() < deadline && !loop.signal_pending()) {
    for (auto& s : slots) {
      asio::error_code ec;
      if (!s->echoed) s->socket.send(asio::buffer(s->hello), 0, ec);
    }
    loop.run_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(200)), all);
  }
  if (loop.signal_pending()) return Error{Errc::kInterrupted, "interrupted while streams connect"};
  if (!all())
    return Error{Errc::kTimeout,
                 "the server did not answer the UDP streams' greetings: is UDP to its ports "
                 "blocked?"};
  for (std::size_t id = 0; id < slots.size(); ++id)
    if (auto st = run.add_stream(int(id), slots[id]->socket.release()); !st) return st;
  return ok();
}

Expected<std::vector<int>> udp_ports_of(const Json& accept, int connections) {
  auto it = accept.find("udp_ports");
  if (it == accept.end() || !it->is_array() || int(it->size()) != connections)
    return Error{Errc::kProtocol, "the server named no UDP port for every stream"};
  std::vector<int> ports;
  for (const auto& p : *it) {
    if (!p.is_number_integer() || p.get<std::int64_t>() < 1 || p.get<std::int64_t>() > 65535)
      return Error{Errc::kProtocol, "the server named a bad UDP port"};
    ports.push_back(p.get<int>());
  }
  return ports;
}

}  // namespace nicperf
