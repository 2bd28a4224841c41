// libFuzzer target: everything a client can put on the control port before a test runs and
// everything a peer sends back as results: the greeting, the frame decoder (fed in two pieces,
// so partial frames are exercised), the parameter validator and the results parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nicperf/control/channel.hpp"
#include "nicperf/control/protocol.hpp"
#include "nicperf/results/results.hpp"
#include "nicperf/spec/spec.hpp"

using namespace nicperf;

namespace {

void handle(const Frame& f) {
  const Json& frame = f.msg;
  if (auto spec = frame.find("spec"); spec != frame.end()) (void)spec_from_json(*spec);
  if (auto side = frame.find("side"); side != frame.end()) (void)side_from_json(*side, 256);
  int pid = 0;
  std::string boot_id;
  read_host(frame, pid, boot_id);
  if (f.type == MsgType::kError) (void)peer_error(frame);
}

void drain(FrameDecoder& d) {
  for (;;) {
    auto f = d.next();
    if (!f || !*f) return;
    handle(**f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (size >= kGreetingSize) {
    (void)decode_greeting(in.substr(0, kGreetingSize));
    in.remove_prefix(kGreetingSize);
  }
  FrameDecoder d;
  std::size_t cut = size ? data[0] % (in.size() + 1) : 0;
  d.feed(in.data(), cut);
  drain(d);
  d.feed(in.data() + cut, in.size() - cut);
  drain(d);
  return 0;
}
