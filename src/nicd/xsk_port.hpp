// A port on one queue of a veth through an AF_XDP socket (libxdp, copy mode, native XDP). The
// model maps onto its rings: the UMEM is the DMA region; the fill ring the RX descriptors handed
// to the NIC (--ring buffers circulate: a frame's buffer returns to the fill ring only when the
// model delivered it, so a ring the host does not drain fills, and the kernel drops, as a NIC
// out of descriptors does); the RX ring the completed descriptors; the TX and completion rings
// the transmit side, over the UMEM's other half. Frames move in batches per wake-up; the kernel
// is kicked only when the rings' need-wakeup flags ask for it (in copy mode: a sendto per batch
// of transmits, through a socket of their own).
#pragma once

#include <xdp/xsk.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nicd/port.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf::nic {

class XskPort final : public Port {
 public:
  // A socket on `queue` of `ifname` in the calling thread's namespace, `rx_buffers` of its
  // UMEM frames (`frame_size` bytes: 2048 or 4096) on the fill ring. The first socket on a
  // device loads libxdp's redirect program.
  static Expected<std::unique_ptr<XskPort>> open(const std::string& ifname, unsigned queue,
                                                 std::uint32_t rx_buffers,
                                                 std::uint32_t frame_size);
  ~XskPort() override;  // call in the device's namespace: libxdp detaches by ifindex
  XskPort(const XskPort&) = delete;
  XskPort& operator=(const XskPort&) = delete;

  void end_receive() override;
  bool send(std::span<const iovec> frame, std::size_t len) override;
  void flush() override;
  int fd() const override { return fd_; }
  std::uint64_t rx_dropped() override;

  bool holds_frames() const override { return true; }
  bool take(Held& frame) override;
  void give_back(std::uint64_t token) override { returned_.push_back(token); }
  void set_rx_buffers(std::uint32_t n) override;
  std::uint32_t rx_occupancy() override;

  static constexpr std::uint32_t kBatch = 64;
  // Every ring's size, and the UMEM frames on each side: the largest --ring (64-4096).
  static constexpr std::uint32_t kDeviceRing = 4096;
  // Each RX frame's data starts kHeadroom into its UMEM frame: XDP_PACKET_HEADROOM, then
  // kHeaderRoom of the UMEM's own headroom, where take() writes the frame's VnetHdr. 16 bytes
  // put the header in the cache line the kernel wrote the frame's first bytes into; in a line
  // of its own (the bare 256) it was one more cache miss per frame.
  static constexpr std::uint32_t kHeaderRoom = 16;
  static constexpr std::uint32_t kHeadroom = 256 + kHeaderRoom;

 private:
  XskPort() = default;
  Status setup(const std::string& ifname, unsigned queue);
  Status open_tx(const std::string& ifname, unsigned queue);
  void flush_locked();
  void kick();
  void reclaim();
  void refill();

  std::uint32_t frame_size_ = 0;
  std::uint8_t* area_ = nullptr;
  std::size_t area_size_ = 0;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  int fd_ = -1;     // the RX socket (libxdp's, in the XSKMAP), UMEM owner
  int tx_fd_ = -1;  // the TX socket, sharing its UMEM and queue
  std::uint8_t* tx_map_ = nullptr;
  std::size_t tx_map_size_ = 0;
  xsk_ring_prod fill_{}, tx_{};
  xsk_ring_cons comp_{}, rx_{};
  // Receive side, its one thread: descriptors peeked [rx_idx_, rx_idx_ + rx_got_), used rx_used_.
  std::uint32_t rx_idx_ = 0, rx_got_ = 0, rx_used_ = 0;
  // Buffers in circulation (on the fill ring, the RX ring or held by the model), the number
  // wanted (--ring), the RX half's others, and those the model handed back since end_receive.
  std::uint32_t circulating_ = 0, rx_buffers_ = 0;
  std::vector<std::uint64_t> spare_, returned_;
  // Send side, any delivering thread.
  std::mutex tx_mutex_;
  std::vector<std::uint64_t> tx_free_;
  std::uint32_t tx_queued_ = 0;
};

}  // namespace nicperf::nic
