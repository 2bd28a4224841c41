// Every mode's machine output, from the real binary on loopback, against the JSON Schema
// (schema/nicperf.schema.json), checked by tests/integration/schema_check.py with Debian's
// python3-jsonschema. Skips, saying so, when /usr/bin/python3 cannot import it.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "harness.hpp"
#include "nicperf/cost/cost.hpp"
#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"
#include "nicperf/results/context.hpp"
#include "nicperf/spec/spec.hpp"

using harness::Proc;
using harness::Server;
using harness::TempFile;
using nlohmann::json;

namespace {

// Debian's python, not whichever python3 is first on PATH: CI machines have only Debian's.
const char* kPython = "/usr/bin/python3";
using harness::kIperf3;
const std::string kSchema = std::string(NICPERF_SOURCE_DIR) + "/schema/nicperf.schema.json";
const std::string kChecker = std::string(NICPERF_SOURCE_DIR) + "/tests/integration/schema_check.py";

bool have_jsonschema() {
  static const bool have = [] {
    if (access(kPython, X_OK) != 0) return false;
    Proc p(kPython, {"-c", "import jsonschema"});
    return p.wait(30) == 0;
  }();
  if (!have)
    MESSAGE(
        "skipping: /usr/bin/python3 cannot import jsonschema "
        "(apt-get install -y python3-jsonschema)");
  return have;
}

// A temp file removed however the test ends.
struct Verdict {
  int rc = -1;
  std::string says;  // the checker's lines, one per error
};

// Runs the checker on `text` as `kind` (a $def of the schema, "any", "stream" or "event").
Verdict check(const std::string& kind, const std::string& text) {
  TempFile file(text);
  Proc p(kPython, {kChecker, kSchema, kind, file.path});
  int rc = p.wait(60);
  return {rc, p.out() + p.err()};
}

void valid(const std::string& kind, const std::string& text) {
  Verdict v = check(kind, text);
  std::string what =
      "as " + kind + ", the checker says:\n" + v.says + "\nthe document:\n" + text.substr(0, 4000);
  INFO(what);
  CHECK(v.rc == 0);
}

void invalid(const std::string& kind, const std::string& text, const std::string& why) {
  Verdict v = check(kind, text);
  std::string what = "as " + kind + ", the checker says:\n" + v.says;
  INFO(what);
  CHECK(v.rc == 1);
  CHECK(v.says.find(why) != std::string::npos);
}

// Runs a client against `s`, checks its exit code and returns what it printed.
std::string run(Server& s, std::vector<std::string> args, int want = 0) {
  auto c = s.client(std::move(args), 60);
  int rc = c->wait(0);
  INFO(c->err());
  CHECK(rc == want);
  return c->out();
}

// A server that runs one test (-1) with machine output: it says where it listens on stderr.
struct OneShotServer {
  int port = harness::free_port();
  Proc proc;
  explicit OneShotServer(const std::string& format)
      : proc({"-s", "-p", std::to_string(port), "-1", format}) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline && proc.running() &&
           proc.err().find("Server listening") == std::string::npos)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(proc.err().find("Server listening") != std::string::npos);
  }
};

}  // namespace

TEST_CASE("schema: the file is draft 2020-12 and carries the version documents carry" *
          doctest::test_suite("parallel")) {
  json schema = json::parse(harness::slurp(kSchema), nullptr, false);
  REQUIRE(schema.is_object());
  CHECK(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  CHECK(schema["x-schema-version"] == nicperf::kSchemaVersion);
  CHECK(schema["$defs"]["context"]["properties"]["schema_version"]["const"] ==
        nicperf::kSchemaVersion);
  std::string id = schema["$id"].get<std::string>();
  CHECK(id.find("/" + std::to_string(nicperf::kSchemaVersion) + "/") != std::string::npos);
  for (const char* def : {"report", "error_report", "compare", "stream_event", "event_start",
                          "event_interval", "event_end", "event_error", "json_stream", "diff"})
    CHECK(schema["$defs"].contains(def));
  // The enums name what this build knows: a new path, direction or cost level needs the schema.
  auto names = [](const json& list) { return list.get<std::set<std::string>>(); };
  std::set<std::string> sends, recvs, directions, levels;
  for (const auto& p : nicperf::send_paths()) sends.insert(p.name);
  for (const auto& p : nicperf::recv_paths()) recvs.insert(p.name);
  for (const auto& p : nicperf::dgram_send_paths()) sends.insert(p.name);
  for (const auto& p : nicperf::dgram_recv_paths()) recvs.insert(p.name);
  for (auto d :
       {nicperf::Direction::kNormal, nicperf::Direction::kReverse, nicperf::Direction::kBidir})
    directions.insert(nicperf::direction_name(d));
  for (auto l :
       {nicperf::CostLevel::kOff, nicperf::CostLevel::kRusage, nicperf::CostLevel::kCounters,
        nicperf::CostLevel::kRing, nicperf::CostLevel::kBpf, nicperf::CostLevel::kFull})
    levels.insert(nicperf::cost_level_name(l));
  CHECK(names(schema["$defs"]["send_mode"]["enum"]) == sends);
  CHECK(names(schema["$defs"]["recv_mode"]["enum"]) == recvs);
  CHECK(names(schema["$defs"]["direction"]["enum"]) == directions);
  CHECK(names(schema["$defs"]["test_spec"]["properties"]["cost"]["enum"]) == levels);
  CHECK(names(schema["$defs"]["side_cost"]["properties"]["level"]["enum"]) == levels);
  if (!have_jsonschema()) return;
  // The checker loads the schema with check_schema() first: a broken schema is exit 2, not 1.
  invalid("any", "{}", "$: ");
}

TEST_CASE("schema: -J reports of -t, -R, --bidir --get-server-output, -P 2 and -n --verify" *
          doctest::test_suite("parallel")) {
  if (!have_jsonschema()) return;
  Server s;
  REQUIRE(s.port() > 0);
  valid("report", run(s, {"-t", "1", "-J"}));
  valid("report", run(s, {"-t", "1", "-R", "-J"}));
  std::string bidir = run(s, {"-t", "1", "--bidir", "--get-server-output", "-J"});
  valid("report", bidir);
  json b = json::parse(bidir, nullptr, false);
  REQUIRE(b.is_object());
  CHECK(b["end"].contains("sum_sent_bidir_reverse"));
  REQUIRE(b.contains("server_output_json"));
  valid("report", b["server_output_json"].dump());  // the server's own report, as it sent it
  valid("report", run(s, {"-t", "1", "-P", "2", "-J"}));
  valid("report", run(s, {"-n", "10M", "--verify", "-J"}));
}

TEST_CASE("schema: --json-stream lines of a test and of a --repeat run" *
          doctest::test_suite("parallel")) {
  if (!have_jsonschema()) return;
  Server s;
  REQUIRE(s.port() > 0);
  std::string lines = run(s, {"-t", "1", "--json-stream"});
  CHECK(lines.find("{\"data\":") == 0);
  valid("stream", lines);
  valid("any", lines);  // each line on its own against the whole schema
  valid("stream", run(s, {"-t", "1", "-i", "0", "--repeat", "1", "--json-stream"}));
}

TEST_CASE("schema: --compare and --repeat documents, and nicperf diff --json of them" *
          doctest::test_suite("parallel")) {
  if (!have_jsonschema()) return;
  Server s;
  REQUIRE(s.port() > 0);
  TempFile compare(
      run(s, {"-t", "1", "-i", "0", "--compare", "write,sendfile", "--repeat", "1", "-J"}));
  TempFile repeat(run(s, {"-t", "1", "-i", "0", "--repeat", "2", "-J"}));
  valid("compare", harness::slurp(compare.path));
  valid("compare", harness::slurp(repeat.path));
  valid("any", harness::slurp(repeat.path));
  Proc diff({"diff", "--json", compare.path, repeat.path});
  INFO(diff.err());
  REQUIRE(diff.wait(10) == 0);
  CHECK(diff.json()["diff"]["kind"] == "compare");
  valid("diff", diff.out());
}

TEST_CASE("schema: a missed threshold (exit 9) and a failed connection (-J and --json-stream)") {
  if (!have_jsonschema()) return;
  Server s;
  REQUIRE(s.port() > 0);
  std::string missed = run(s, {"-t", "1", "--expect-gbps", "100000", "-J"}, 9);
  valid("report", missed);
  CHECK(json::parse(missed, nullptr, false)["thresholds"][0]["passed"] == false);

  std::string closed = std::to_string(harness::free_port());
  Proc failed({"-c", "127.0.0.1", "-p", closed, "-t", "1", "-J"});
  CHECK(failed.wait(30) > 0);
  valid("error_report", failed.out());
  valid("any", failed.out());
  Proc stream({"-c", "127.0.0.1", "-p", closed, "-t", "1", "--json-stream"});
  CHECK(stream.wait(30) > 0);
  valid("stream", stream.out());
}

TEST_CASE("schema: --cost off and --cost counters, and nicperf diff --json of two tests" *
          doctest::test_suite("parallel")) {
  if (!have_jsonschema()) return;
  Server s;
  REQUIRE(s.port() > 0);
  TempFile off(run(s, {"-t", "1", "--cost", "off", "-J"}));
  TempFile counters(run(s, {"-t", "1", "--cost", "counters", "-J"}));
  valid("report", harness::slurp(off.path));
  valid("report", harness::slurp(counters.path));
  json c = json::parse(harness::slurp(counters.path), nullptr, false);
  CHECK(c["end"]["cost"]["client"]["level"] == "counters");
  Proc diff({"diff", "--json", off.path, counters.path});
  INFO(diff.err());
  REQUIRE(diff.wait(10) == 0);
  CHECK(diff.json()["diff"]["kind"] == "single");
  valid("diff", diff.out());
}

TEST_CASE("schema: a server's -J and --json-stream output, one test each" *
          doctest::test_suite("parallel")) {
  if (!have_jsonschema()) return;
  for (const char* format : {"-J", "--json-stream"}) {
    CAPTURE(format);
    OneShotServer server(format);
    Proc client({"-c", "127.0.0.1", "-p", std::to_string(server.port), "-t", "1"});
    CHECK(client.wait(30) == 0);
    REQUIRE(server.proc.wait(30) == 0);
    valid(std::string(format) == "-J" ? "report" : "stream", server.proc.out());
    CHECK(server.proc.out().find("\"accepted_connection\"") != std::string::npos);
  }
}

TEST_CASE("schema: --iperf3 against Debian's iperf3 server (-J and --json-stream)" *
          doctest::test_suite("parallel")) {
  if (!have_jsonschema()) return;
  if (access(kIperf3, X_OK) != 0) {
    MESSAGE("skipping: iperf3 is not installed (apt-get install -y iperf3)");
    return;
  }
  int port = harness::free_port();
  Proc iperf3(kIperf3, {"-s", "-p", std::to_string(port), "--forceflush"});
  REQUIRE(harness::wait_for_output(iperf3, "Server listening"));
  auto client = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"-c", "127.0.0.1", "-p", std::to_string(port), "--iperf3"};
    args.insert(args.end(), extra.begin(), extra.end());
    Proc p(args);
    int rc = p.wait(60);
    INFO(p.err());
    CHECK(rc == 0);
    return p.out();
  };
  std::string report = client({"-t", "1", "--get-server-output", "-J"});
  valid("report", report);
  CHECK(json::parse(report, nullptr, false)["remote_context"]["implementation"] == "iperf3");
  valid("stream", client({"-t", "1", "--json-stream"}));
}

TEST_CASE("schema: wrong documents fail, so a pass is not vacuous" *
          doctest::test_suite("parallel")) {
  if (!have_jsonschema()) return;
  Server s;
  REQUIRE(s.port() > 0);
  json good = json::parse(run(s, {"-n", "1M", "-J"}), nullptr, false);
  REQUIRE(good.is_object());
  valid("report", good.dump());

  json j = good;
  j["end"]["sum_sent"]["bits_per_second"] = "20000000000";
  invalid("report", j.dump(), "$.end.sum_sent.bits_per_second: '20000000000' is not of type");
  invalid("any", j.dump(), "bits_per_second");
  j = good;
  j["context"].erase("schema_version");
  invalid("report", j.dump(), "'schema_version' is a required property");
  j = good;
  j["context"]["schema_version"] = nicperf::kSchemaVersion + 1;
  invalid("report", j.dump(), "$.context.schema_version");
  j = good;
  j["start"]["test_spec"]["direction"] = "sideways";
  invalid("report", j.dump(), "$.start.test_spec.direction");
  j = good;
  j["end"]["no_such_figure"] = 1;  // nicperf's own objects are closed
  invalid("report", j.dump(), "'no_such_figure' was unexpected");
  j = good;
  j["end"]["sum_sent"].erase("retransmits");
  invalid("report", j.dump(), "'retransmits' is a required property");
  j = good;
  j["error"] = "boom";  // a report with an error is an error_report
  invalid("report", j.dump(), "'error' was unexpected");
  valid("error_report", j.dump());
  invalid("compare", good.dump(), "'compare' is a required property");
  invalid("report", "{\"start\": ", "not one JSON document");

  // end.overlapping_tests: optional, an integer >= 0.
  j = good;
  j["end"].erase("overlapping_peers");
  j["end"].erase("overlapping_tests");
  valid("report", j.dump());
  j["end"]["overlapping_tests"] = 3;
  valid("report", j.dump());
  j["end"]["overlapping_tests"] = -1;
  invalid("report", j.dump(), "$.end.overlapping_tests: -1 is less than the minimum of 0");
  j["end"]["overlapping_tests"] = "3";
  invalid("report", j.dump(), "$.end.overlapping_tests");

  // A stream: an unknown event, a second start, no end.
  std::string lines = run(s, {"-n", "1M", "--json-stream"});
  valid("stream", lines);
  invalid("stream", lines + "{\"event\": \"progress\", \"data\": {}}\n",
          "'progress' is not one of");
  invalid("stream", lines.substr(0, lines.find('\n') + 1) + lines, "more than one start event");
  invalid("stream", lines.substr(0, lines.find('\n') + 1), "no end or error event");
}
