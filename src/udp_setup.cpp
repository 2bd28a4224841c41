#include "nicperf/udp_setup.hpp"

#include <unistd.h>

#include <array>

#include "nicperf/protocol.hpp"

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
    auto slot = std::make_unique<Slot>(loop_.io());
    slot->id = id;
    asio::error_code ec;
    udp::endpoint ep(local, 0);
    slot->socket.open(ep.protocol(), ec);
    if (!ec) slot->socket.bind(ep, ec);
    if (ec) return Error{Errc::kSystem, "cannot open a UDP socket for stream: " + ec.message()};
    if (auto st = apply_socket_options(slot->socket.native_handle(), spec); !st) return st;
    arm(*slot);
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
void UdpRendezvous::arm(Slot& slot) {
  slot.socket.async_receive_from(
      asio::buffer(slot.buf), slot.from, [this, &slot](asio::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec && n == kGreetingSize) {
          auto g = decode_greeting({slot.buf.data(), n});
          bool ours =
              g && g->kind == ConnKind::kData && g->cookie == cookie_ && g->stream == slot.id;
          if (ours && !slot.connected) {
            asio::error_code cec;
            slot.socket.connect(slot.from, cec);
            if (!cec) {
              slot.connected = true;
              // The stream gets its own descriptor; ours answers repeats until close().
              int fd = ::dup(slot.socket.native_handle());
              if (fd >= 0) arrived_.emplace_back(slot.id, fd);
            }
          }
          if (ours && slot.connected) {
            asio::error_code sec;
            slot.socket.send(asio::buffer(slot.buf.data(), n), 0, sec);
          }
        }
        arm(slot);
      });
}

void UdpRendezvous::close() {
  for (auto& s : slots_) {
    asio::error_code ec;
    s->socket.close(ec);
  }
  // The handlers see operation_aborted once the loop runs; the slots must outlive them.
  loop_.io().poll();
  loop_.io().restart();
  slots_.clear();
}

namespace {

struct ClientSlot {
  explicit ClientSlot(asio::io_context& io) : socket(io) {}
  udp::socket socket;
  std::array<char, kGreetingSize + 1> buf{};
  bool echoed = false;
};

}  // namespace

Status open_udp_streams(EventLoop& loop, TestRun& run, const asio::ip::address& server,
                        const std::vector<int>& ports, Clock::time_point deadline,
                        const TestSpec& spec, const std::string& cookie) {
  std::vector<std::unique_ptr<ClientSlot>> slots;
  std::vector<std::string> hellos;
  int echoed = 0;
  for (std::size_t id = 0; id < ports.size(); ++id) {
    auto slot = std::make_unique<ClientSlot>(loop.io());
    udp::endpoint ep(server, std::uint16_t(ports[id]));
    asio::error_code ec;
    slot->socket.open(ep.protocol(), ec);
    if (!ec) {
      if (auto st = apply_socket_options(slot->socket.native_handle(), spec); !st) return st;
      slot->socket.connect(ep, ec);
    }
    if (ec)
      return Error{Errc::kConnect,
                   "cannot open UDP stream " + std::to_string(id) + ": " + ec.message()};
    auto g = encode_greeting({ConnKind::kData, kProtocolVersion, int(id), cookie});
    hellos.emplace_back(g.data(), g.size());
    slots.push_back(std::move(slot));
  }
  for (std::size_t id = 0; id < slots.size(); ++id) {
    ClientSlot& s = *slots[id];
    s.socket.async_receive(asio::buffer(s.buf),
                           [&s, &echoed, &hello = hellos[id]](asio::error_code ec, std::size_t n) {
                             if (!ec && std::string_view(s.buf.data(), n) == hello) {
                               s.echoed = true;
                               ++echoed;
                             }
                           });
  }
  auto all = [&] { return echoed == int(slots.size()); };
  while (!all() && Clock::now() < deadline && !loop.signal_pending()) {
    for (std::size_t id = 0; id < slots.size(); ++id) {
      asio::error_code ec;
      if (!slots[id]->echoed) slots[id]->socket.send(asio::buffer(hellos[id]), 0, ec);
    }
    loop.run_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(200)), all);
  }
  for (auto& s : slots) {
    asio::error_code ec;
    s->socket.cancel(ec);
  }
  loop.io().poll();
  loop.io().restart();
  if (loop.signal_pending()) return Error{Errc::kInterrupted, "interrupted while streams connect"};
  if (!all())
    return Error{Errc::kTimeout,
                 "the server did not answer the UDP streams' greetings: is UDP "
                 "to its ports blocked?"};
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
