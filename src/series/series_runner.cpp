#include "series/series_runner.hpp"

namespace nicperf {

void SeriesStop::arm() {
  signals_.async_wait([this](const asio::error_code& ec, int) {
    if (ec) return;
    requested_ = true;
    arm();
  });
}

bool SeriesStop::requested() {
  io_.poll();
  io_.restart();
  return requested_;
}

int SeriesRunner::run(const ClientOptions& opt, NicSweep& nic, const std::string& setting,
                      Report& report) {
  SilentReporter silent;
  Status set = nic.apply(setting);
  int code = set ? run_client_test(opt, silent, report) : exit_code(set.error().code);
  if (!set) report.error = set.error();
  if (report.interrupted || code == exit_code(Errc::kInterrupted)) stop_.request();
  return code;
}

}  // namespace nicperf
