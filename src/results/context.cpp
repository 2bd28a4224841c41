#include "nicperf/results/context.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace nicperf {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

std::string nicperf_version() { return NICPERF_VERSION; }

std::string system_info() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.nodename + " " + u.release + " " + u.version + " " +
         u.machine;
}

std::string build_warning() {
  std::string type = NICPERF_BUILD_TYPE, san = NICPERF_SANITIZERS;
  if (!san.empty()) return "this build runs under sanitizers (" + san + "): figures are slow";
  if (type == "Debug") return "this is a Debug build: figures are slow";
  return {};
}

nlohmann::json system_context() {
  utsname u{};
  uname(&u);
  return {{"nicperf_version", nicperf_version()},
          {"schema_version", kSchemaVersion},
          {"kernel", u.release},
          {"machine", u.machine},
          {"hostname", u.nodename},
          {"cpu_model", cpu_model()},
          {"cpus_online", sysconf(_SC_NPROCESSORS_ONLN)},
          {"build_type", NICPERF_BUILD_TYPE},
          {"sanitizers", NICPERF_SANITIZERS},
          {"build_warning", build_warning()}};
}

}  // namespace nicperf
