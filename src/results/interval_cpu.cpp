// A side's per-interval CPU in the results exchange: raw ns, so the peer derives percentages
// by the same rule as its own.
#include "results/results_json.hpp"

namespace nicperf {

Json interval_cpu_json(const std::vector<IntervalCpu>& series) {
  Json out = Json::array();
  for (const auto& c : series) {
    Json j = {
        {"start", c.start}, {"end", c.end}, {"user_ns", c.user_ns}, {"kernel_ns", c.kernel_ns}};
    if (c.softirq_ns) j["softirq_ns"] = *c.softirq_ns;
    if (c.hardirq_ns) j["hardirq_ns"] = *c.hardirq_ns;
    out.push_back(std::move(j));
  }
  return out;
}

Expected<std::vector<IntervalCpu>> interval_cpu_from_json(const Json& j) {
  constexpr std::size_t kMaxIntervals = 1 << 20;  // a week of 1 s intervals, and more
  if (!j.is_array() || j.size() > kMaxIntervals)
    return Error{Errc::kProtocol, "peer results have a bad interval CPU list"};
  std::vector<IntervalCpu> out;
  auto figure = [](const Json& c, const char* key) {
    double v = c.at(key).get<double>();
    if (!(v >= 0 && v < 1e18)) throw std::range_error(std::string(key) + " out of range");
    return v;
  };
  for (const auto& c : j) {
    IntervalCpu cpu{
        figure(c, "start"), figure(c, "end"), figure(c, "user_ns"), figure(c, "kernel_ns"), {}, {}};
    if (c.contains("softirq_ns")) cpu.softirq_ns = figure(c, "softirq_ns");
    if (c.contains("hardirq_ns")) cpu.hardirq_ns = figure(c, "hardirq_ns");
    out.push_back(cpu);
  }
  return out;
}

}  // namespace nicperf
