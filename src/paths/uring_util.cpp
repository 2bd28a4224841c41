#include "paths/uring_util.hpp"

namespace nicperf {

std::string probe_uring_op(int op, const char* name) {
  io_uring ring{};
  int r = io_uring_queue_init(2, &ring, 0);
  if (r < 0)
    return errno_text("io_uring is not usable here (see sysctl kernel.io_uring_disabled)", -r);
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  bool supported = probe && io_uring_opcode_supported(probe, op);
  if (probe) io_uring_free_probe(probe);
  io_uring_queue_exit(&ring);
  return supported ? "" : std::string("this kernel's io_uring lacks ") + name;
}

}  // namespace nicperf
