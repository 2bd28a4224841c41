// Steal time per CPU from /proc/stat: beside the task-clock minus scheduler run time ("steal +
// switch"), since the scheduler's run time leaves steal out (CONFIG_PARAVIRT_TIME_ACCOUNTING)
// while perf's task-clock keeps it in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nicperf {

// Steal per CPU, in ns, from /proc/stat's text ("cpuN user nice system idle iowait irq softirq
// steal ..."); CPUs whose line has no steal column are absent.
std::map<int, double> parse_steal(const std::string& proc_stat, long ticks_per_s);
std::map<int, double> read_steal();
// The steal between two reads on `cpus` (all CPUs when empty).
double steal_between(const std::map<int, double>& begin, const std::map<int, double>& end,
                     const std::vector<int>& cpus);
// The CPUs any of `tids` may run on (their affinity masks' union).
std::vector<int> cpus_of(const std::vector<pid_t>& tids);

}  // namespace nicperf
