// --nic: the client reads nicperf-nicd's counters over exactly the measured window (reset as
// it opens, stats once it closes) and puts them in the report.
#pragma once

#include <optional>
#include <string>

#include "nicperf/nic/nicd_client.hpp"
#include "nicperf/results/results.hpp"

namespace nicperf {

class NicWatch {
 public:
  // Connects and reads the daemon's settings; an error here stops the test before it starts.
  Status open(const std::string& socket);
  void begin();              // reset the counters
  void end(Report& report);  // stats into report.nic (or the reason into report.nic_error)
  const nlohmann::json& info() const { return info_; }

 private:
  std::optional<nic::NicdClient> client_;
  nlohmann::json info_;
  std::string error_;
};

}  // namespace nicperf
