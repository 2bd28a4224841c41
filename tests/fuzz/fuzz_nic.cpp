// libFuzzer: what nicperf-nicd parses from outside. The first byte picks the input's role:
// even, a frame as a tap hands it (vnet header, then Ethernet) through the RSS parser, the wire
// counts and the segmenter; odd, a control line (settings) or a stats reply as nicperf reads it.
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "nicd/nic_packet.hpp"
#include "nicd/nicd.hpp"
#include "nicperf/nic/nic_report.hpp"

using namespace nicperf::nic;

namespace {

void frame(std::span<const std::uint8_t> in) {
  if (in.size() < sizeof(VnetHdr)) return;
  VnetHdr hdr;
  std::memcpy(&hdr, in.data(), sizeof hdr);
  auto eth = in.subspan(sizeof hdr);
  if (auto flow = parse_flow(eth)) {
    (void)rss_hash(*flow);
    (void)rss_hash(reversed(*flow));
  }
  unsigned segments = wire_segments(hdr, eth);
  std::size_t bytes = wire_bytes(hdr, eth);
  std::vector<std::uint8_t> out;
  auto parts = segment_tcp(hdr, eth, out);
  if (!parts) return;
  std::size_t total = 0;
  for (const auto& p : *parts) {
    if (p.offset + p.size > out.size()) __builtin_trap();  // a span outside its buffer
    total += p.size - sizeof(VnetHdr);
  }
  // Segments on the wire are what wire_bytes counted, whenever it cut the frame.
  if (parts->size() > 1 && (parts->size() != segments || total != bytes)) __builtin_trap();
}

void control(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return;
  NicSettings s;
  (void)apply_settings(s, j);
  if (j.is_object() && j.contains("settings")) (void)apply_settings(s, j["settings"]);
  if (auto stats = nic_stats_from_json(j)) {
    (void)to_json(*stats);
    (void)nic_table(*stats);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    frame(in);
  } else {
    control(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
  }
  return 0;
}
