#include "series/series_runner.hpp"

#include <csignal>

namespace nicperf {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

}  // namespace

SeriesRunner::SeriesRunner()
    : old_int_(std::signal(SIGINT, on_signal)), old_term_(std::signal(SIGTERM, on_signal)) {
  g_stop = 0;
}

SeriesRunner::~SeriesRunner() {
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
}

bool SeriesRunner::stopped() const { return g_stop != 0; }

int SeriesRunner::run(const ClientOptions& opt, NicSweep& nic, const std::string& setting,
                      Report& report) {
  SilentReporter silent;
  Status set = nic.apply(setting);
  int code = set ? run_client_test(opt, silent, report) : exit_code(set.error().code);
  if (!set) report.error = set.error();
  // Each test's event loop hands SIGINT back to the default when it ends: take it again.
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (report.interrupted || code == exit_code(Errc::kInterrupted)) g_stop = 1;
  return code;
}

}  // namespace nicperf
