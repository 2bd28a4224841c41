// Support for commands that run many tests in a row (--compare, --repeat, --sweep-rate): one
// live progress line on a terminal, and a NIC setting changed between runs and restored after.
#pragma once

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <optional>
#include <ostream>
#include <string>

#include "nicperf/nic/dev_settings.hpp"
#include "nicperf/nic/nicd_client.hpp"
#include "nicperf/report/reporter.hpp"
#include "nicperf/series/compare.hpp"
#include "nicperf/util/units.hpp"

namespace nicperf {

// Runs in a series print nothing per test; the table is the output.
class SilentReporter final : public Reporter {
 public:
  void on_start(const Report&) override {}
  void on_interval(const Report&, const IntervalRecord&) override {}
  void on_end(const Report&) override {}
  void on_error(const Report&, const Error&) override {}
};

class NicSweep;

// A series' stop: SIGINT or SIGTERM stops the series after the test it interrupts. During a
// test, the test's EventLoop hears the signal and ends the test; Asio tells every signal_set of
// a signal, so this one hears it too. Between tests this set alone holds the signals, so they
// stop the series instead of the process. When it goes, the signals' default action returns.
class SeriesStop {
 public:
  SeriesStop() : signals_(io_, SIGINT, SIGTERM) { arm(); }
  // Whether a signal came (or request() was called); takes in any signal that came meanwhile.
  bool requested();
  void request() { requested_ = true; }

 private:
  void arm();
  asio::io_context io_;
  asio::signal_set signals_;
  bool requested_ = false;
};

// Runs the tests of a series, and owns its stop.
class SeriesRunner {
 public:
  SeriesRunner() = default;
  SeriesRunner(const SeriesRunner&) = delete;
  SeriesRunner& operator=(const SeriesRunner&) = delete;
  bool stopped() { return stop_.requested(); }
  // One test of the series, silent, after setting the NIC (`setting` "" = leave it); returns
  // its exit code, and `report` holds what it measured (or why the NIC could not be set).
  int run(const ClientOptions& opt, NicSweep& nic, const std::string& setting, Report& report);

 private:
  SeriesStop stop_;
};

// What runs, which round, and about how long is left; nothing unless enabled (a terminal).
class Progress {
 public:
  Progress(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  ~Progress() { clear(); }
  void show(const std::string& what, int round, int rounds, double seconds_left) {
    if (!enabled_) return;
    err_ << "\r\033[K" << what << "  round " << round << "/" << rounds << "  ~"
         << fixed(seconds_left, 0) << " s left" << std::flush;
    shown_ = true;
  }
  void clear() {
    if (shown_) err_ << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  bool shown_ = false;
};

// --compare-nic: sets the NIC before a run; puts the daemon's own setting back at the end.
// Without --nic it sets the kernel device --nic-dev names, and restores it the same way (a
// signal stops the series, not the process, so this destructor runs after Ctrl-C too).
class NicSweep {
 public:
  Status open(const ClientOptions& base, const CompareOptions& opt) {
    if (opt.nic_key.empty()) return ok();
    if (base.nic_socket.empty()) {
      auto dev = nic::DevSettings::open(base.nic_dev);
      if (!dev) return dev.error();
      dev_.emplace(std::move(*dev));
      key_ = opt.nic_key;
      return ok();
    }
    auto c = nic::NicdClient::connect(base.nic_socket);
    if (!c) return c.error();
    client_.emplace(std::move(*c));
    auto info = client_->request({{"cmd", "info"}});
    if (!info) return info.error();
    key_ = opt.nic_key;
    original_ = (*info)["settings"].value(key_, Json());
    return ok();
  }
  Status apply(const std::string& setting) {
    if (dev_ && !setting.empty()) {
      auto at = setting.find('=');
      return dev_->apply(setting.substr(0, at), setting.substr(at + 1));
    }
    if (!client_ || setting.empty()) return ok();
    auto eq = setting.find('=');
    auto r = client_->request(
        {{"cmd", "set"}, {"settings", {{setting.substr(0, eq), setting.substr(eq + 1)}}}});
    if (!r) return r.error();
    return ok();
  }
  ~NicSweep() {
    if (client_ && !original_.is_null())
      (void)client_->request({{"cmd", "set"}, {"settings", {{key_, original_}}}});
  }

 private:
  std::optional<nic::NicdClient> client_;
  std::optional<nic::DevSettings> dev_;  // restores the device as it goes
  std::string key_;
  Json original_;
};

}  // namespace nicperf
