#include "cost/steal.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace nicperf {

std::map<int, double> parse_steal(const std::string& proc_stat, long ticks_per_s) {
  std::map<int, double> out;
  std::istringstream in(proc_stat);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || !std::isdigit(line[3])) continue;
    std::istringstream f(line.substr(3));
    int cpu = -1;
    std::uint64_t v[8] = {};
    f >> cpu;
    int n = 0;
    while (n < 8 && f >> v[n]) ++n;
    if (cpu >= 0 && n == 8 && ticks_per_s > 0) out[cpu] = double(v[7]) * 1e9 / double(ticks_per_s);
  }
  return out;
}

std::map<int, double> read_steal() {
  std::ifstream in("/proc/stat");
  std::stringstream s;
  s << in.rdbuf();
  return parse_steal(s.str(), sysconf(_SC_CLK_TCK));
}

double steal_between(const std::map<int, double>& begin, const std::map<int, double>& end,
                     const std::vector<int>& cpus) {
  double ns = 0;
  for (const auto& [cpu, e] : end) {
    if (!cpus.empty() && std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) continue;
    auto b = begin.find(cpu);
    if (b != begin.end() && e > b->second) ns += e - b->second;
  }
  return ns;
}

std::vector<int> cpus_of(const std::vector<pid_t>& tids) {
  std::set<int> cpus;
  for (pid_t tid : tids) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(tid, sizeof set, &set) != 0) continue;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.insert(c);
  }
  return {cpus.begin(), cpus.end()};
}

}  // namespace nicperf
