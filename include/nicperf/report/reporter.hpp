// Reporters: views of the results model (text like iperf3, one JSON document, JSON lines).
#pragma once

#include <iosfwd>
#include <memory>
#include <vector>

#include "nicperf/results/results.hpp"

namespace nicperf {

// kJsonStreamFull: the JSON lines, then the -J document at the end (iperf3's
// --json-stream-full-output).
enum class Format { kText, kJson, kJsonStream, kJsonStreamFull };

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void on_start(const Report& r) = 0;
  virtual void on_interval(const Report& r, const IntervalRecord& iv) = 0;
  virtual void on_end(const Report& r) = 0;
  // A test that failed or never started; r holds whatever was known.
  virtual void on_error(const Report& r, const Error& e) = 0;
};

// Sends every event to several reporters (a server's own output and the copy for its client).
class TeeReporter final : public Reporter {
 public:
  void add(std::unique_ptr<Reporter> r) { targets_.push_back(std::move(r)); }
  void on_start(const Report& r) override;
  void on_interval(const Report& r, const IntervalRecord& iv) override;
  void on_end(const Report& r) override;
  void on_error(const Report& r, const Error& e) override;

 private:
  std::vector<std::unique_ptr<Reporter>> targets_;
};

// `out` gets the report; `err` gets text-mode error lines. rate_unit: iperf3's -f for the text
// report's rate column (0 = adaptive).
std::unique_ptr<Reporter> make_reporter(Format format, std::ostream& out, std::ostream& err,
                                        bool verbose, char rate_unit = 0);

// The JSON views, shared by the JSON and JSON-stream reporters.
Json start_json(const Report& r);
Json interval_json(const Report& r, const IntervalRecord& iv);
Json end_json(const Report& r);
Json report_json(const Report& r);
Json thresholds_json(const Report& r);

}  // namespace nicperf
