#include "cost/softnet.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace nicperf {
namespace {

constexpr std::size_t kReceivedRps = 9, kFlowLimit = 10, kCpuId = 12;

// The hex columns of one line; nullopt when any token is not hex (not a softnet_stat line).
std::optional<std::vector<std::uint64_t>> hex_columns(const std::string& line) {
  std::vector<std::uint64_t> cols;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) {
    char* end = nullptr;
    std::uint64_t v = std::strtoull(tok.c_str(), &end, 16);
    if (tok.size() > 16 || *end != '\0' || tok[0] == '-' || tok[0] == '+') return std::nullopt;
    cols.push_back(v);
  }
  return cols;
}

// Counters the kernel keeps as unsigned int: one wrap over the window still reads right.
std::uint64_t delta32(std::uint64_t begin, std::uint64_t end) {
  return (end - begin) & 0xffffffffULL;
}

std::optional<std::uint64_t> delta32(const std::optional<std::uint64_t>& begin,
                                     const std::optional<std::uint64_t>& end) {
  if (!begin || !end) return std::nullopt;
  return delta32(*begin, *end);
}

bool moved(const SoftnetCount& d) {
  return d.processed || d.dropped || d.time_squeeze || d.received_rps.value_or(0) ||
         d.flow_limit.value_or(0);
}

}  // namespace

std::vector<SoftnetCount> parse_softnet_stat(const std::string& text) {
  std::vector<SoftnetCount> out;
  std::istringstream in(text);
  std::string line;
  int index = 0;
  while (std::getline(in, line)) {
    auto cols = hex_columns(line);
    if (!cols || cols->empty()) continue;  // blank or foreign lines take no CPU index
    int line_index = index++;
    if (cols->size() < 3) continue;
    const auto& c = *cols;
    SoftnetCount s;
    s.cpu = c.size() > kCpuId ? int(c[kCpuId]) : line_index;
    s.processed = c[0];
    s.dropped = c[1];
    s.time_squeeze = c[2];
    if (c.size() > kReceivedRps) s.received_rps = c[kReceivedRps];
    if (c.size() > kFlowLimit) s.flow_limit = c[kFlowLimit];
    out.push_back(s);
  }
  return out;
}

std::vector<SoftnetCount> softnet_delta(const std::vector<SoftnetCount>& begin,
                                        const std::vector<SoftnetCount>& end) {
  std::vector<SoftnetCount> out;
  for (const auto& e : end) {
    auto b = std::find_if(begin.begin(), begin.end(),
                          [&e](const SoftnetCount& x) { return x.cpu == e.cpu; });
    if (b == begin.end()) continue;  // a CPU brought online mid-window: no start to diff from
    SoftnetCount d;
    d.cpu = e.cpu;
    d.processed = delta32(b->processed, e.processed);
    d.dropped = delta32(b->dropped, e.dropped);
    d.time_squeeze = delta32(b->time_squeeze, e.time_squeeze);
    d.received_rps = delta32(b->received_rps, e.received_rps);
    d.flow_limit = delta32(b->flow_limit, e.flow_limit);
    if (moved(d)) out.push_back(d);
  }
  std::sort(out.begin(), out.end(),
            [](const SoftnetCount& x, const SoftnetCount& y) { return x.cpu < y.cpu; });
  return out;
}

std::optional<std::vector<SoftnetCount>> SoftnetWindow::snapshot() const {
  std::ifstream in(path_);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return parse_softnet_stat(text.str());
}

std::vector<SoftnetCount> SoftnetWindow::deltas() const {
  if (!begin_ || !end_) return {};
  return softnet_delta(*begin_, *end_);
}

}  // namespace nicperf
