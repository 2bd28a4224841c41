// Where a queue worker takes frames from and hands them to: one queue of one device of the
// backend (a TAP queue's fd, or an AF_XDP socket on a veth). Frames begin with a VnetHdr, the
// TAP's own format; a port whose device has none makes or strips a plain one (no GSO).
// One thread receives from a port; several may send into it (RSS), so send/flush must be safe
// against each other.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace nicperf::nic {

class Port {
 public:
  virtual ~Port() = default;
  // One frame into `into`; its length, or <= 0 when none waits (as readv). A port that holds
  // frames (below) is read with take() instead.
  virtual ssize_t receive(std::span<const iovec> /*into*/) { return -1; }
  // The receiving thread is done for this wake-up: give consumed buffers back to the device.
  virtual void end_receive() {}
  // One frame (`len` bytes over `frame`); false when the device refused it (a drop).
  virtual bool send(std::span<const iovec> frame, std::size_t len) = 0;
  // The end of a delivered burst: hand what send() queued to the device.
  virtual void flush() {}
  // Readable when frames wait to be received.
  virtual int fd() const = 0;
  // Frames the device dropped on the way in since it opened (its RX ring full or out of
  // buffers), for the receiving thread; a TAP holds them back in its queue instead: 0.
  virtual std::uint64_t rx_dropped() { return 0; }

  // A device whose receive buffers the model holds in place until it delivers them (AF_XDP: the
  // UMEM is the DMA region, the fill ring the RX descriptors handed to the NIC). The receiving
  // thread takes frames with take(), gives each buffer back once its frame left, and sizes the
  // ring with set_rx_buffers(); end_receive() hands the given-back buffers to the device.
  struct Held {
    std::uint8_t* data;  // a VnetHdr, then the frame
    std::size_t len;
    std::uint64_t token;
  };
  virtual bool holds_frames() const { return false; }
  virtual bool take(Held&) { return false; }
  virtual void give_back(std::uint64_t /*token*/) {}
  virtual void set_rx_buffers(std::uint32_t /*n*/) {}
  // Buffers the device filled and the model has not handed back: the RX ring's occupancy, read
  // from the rings' own indices.
  virtual std::uint32_t rx_occupancy() { return 0; }
};

// Today's TAP queue: a system call per frame each way, nothing queued.
class TapPort final : public Port {
 public:
  explicit TapPort(int fd) : fd_(fd) {}
  ssize_t receive(std::span<const iovec> into) override {
    return readv(fd_, into.data(), static_cast<int>(into.size()));
  }
  bool send(std::span<const iovec> frame, std::size_t len) override {
    return writev(fd_, frame.data(), static_cast<int>(frame.size())) == static_cast<ssize_t>(len);
  }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

}  // namespace nicperf::nic
