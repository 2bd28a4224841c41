// The one reader of saved results (nicperf plot and nicperf diff): -J documents, --json-stream
// captures and what is neither.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "nicperf/tools/saved_result.hpp"

using namespace nicperf;

namespace {

Json test_doc() {
  return {{"start", {{"test_spec", {{"streams", 2}}}, {"context", {{"kernel", "6.8"}}}}},
          {"intervals", Json::array({{{"sum", {{"bytes", 1}}}}, {{"sum", {{"bytes", 2}}}}})},
          {"end", {{"sum_received", {{"bits_per_second", 1e9}}}}}};
}

std::string event(const char* name, const Json& data) {
  return Json{{"event", name}, {"data", data}}.dump() + "\n";
}

}  // namespace

TEST_CASE("saved result: a -J document is read as it is") {
  Json doc = test_doc();
  auto r = parse_saved_result(doc.dump(4), "a.json");
  REQUIRE(r);
  CHECK(*r == doc);
  // A capture's end line alone is its data.
  auto end = parse_saved_result(event("end", doc["end"]), "end.json");
  REQUIRE(end);
  CHECK(*end == doc["end"]);
}

TEST_CASE("saved result: a --json-stream capture becomes one document") {
  Json doc = test_doc();
  std::string capture = event("start", doc["start"]) + "\n" +
                        event("interval", doc["intervals"][0]) +
                        event("interval", doc["intervals"][1]) + event("end", doc["end"]) +
                        // a server's capture: a second test follows, the first one is read
                        event("start", {{"second", true}}) + "not json\n";
  auto r = parse_saved_result(capture, "s.jsonl");
  REQUIRE(r);
  CHECK((*r)["start"] == doc["start"]);
  CHECK((*r)["intervals"] == doc["intervals"]);
  CHECK((*r)["end"] == doc["end"]);
  CHECK((*r)["context"]["kernel"] == "6.8");  // lifted from the start event

  auto failed = parse_saved_result(event("start", doc["start"]) + event("error", "refused"), "f");
  REQUIRE(failed);
  CHECK((*failed)["error"] == "refused");
  CHECK_FALSE(failed->contains("end"));

  Json cmp = {{"compare", {{"rows", Json::array()}}}};
  auto c = parse_saved_result(event("start", doc["start"]) + event("end", cmp), "c");
  REQUIRE(c);
  CHECK(*c == cmp);  // a --compare capture is its end data
}

TEST_CASE("saved result: garbage is a usage error naming the file and the line") {
  for (const std::string& garbage :
       {std::string("hello\n"), event("start", {}) + "{\"no_event\": 1}\n",
        event("start", {}) + "\n[1, 2\n", std::string("{\"event\": \"start\"\n")}) {
    CAPTURE(garbage);
    auto r = parse_saved_result(garbage, "junk.json");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kUsage);
    CHECK(r.error().message.find("'junk.json' is not a nicperf -J or --json-stream output") == 0);
    CHECK(r.error().message.find("line ") != std::string::npos);
  }
  auto line3 = parse_saved_result(event("start", {}) + "\nnope\n", "x");
  REQUIRE_FALSE(line3);
  CHECK(line3.error().message.find("(line 3 is not a JSON event)") != std::string::npos);
}

TEST_CASE("saved result: files are read whole, a missing one is a usage error") {
  char path[] = "/tmp/nicperf-saved-unit.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "{\"a\": 1}\n";
  auto text = read_saved_text(path);
  REQUIRE(text);
  CHECK(*text == "{\"a\": 1}\n");
  std::remove(path);
  auto gone = read_saved_text(path);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == Errc::kUsage);
  CHECK(gone.error().message.find("cannot read '" + std::string(path) + "'") == 0);
}

TEST_CASE("saved result: field readers check every step") {
  Json j = {{"a", {{"b", 2.5}, {"s", "one\ntwo"}, {"n", nullptr}, {"list", {1, 2}}}},
            {"flag", true}};
  CHECK(saved::at(j, {"a", "b"})->get<double>() == 2.5);
  CHECK(saved::at(j, {"a", "b", "c"}) == nullptr);
  CHECK(saved::at(j, {"x"}) == nullptr);
  CHECK(*saved::number(j, {"a", "b"}) == 2.5);
  CHECK_FALSE(saved::number(j, {"a", "s"}));
  CHECK(saved::text(j, {"a", "s"}) == "one two");  // one line
  CHECK(saved::text(j, {"a", "b"}) == "2.5");
  CHECK(saved::text(j, {"a", "n"}).empty());
  CHECK(saved::text(j, {"missing"}).empty());
  CHECK(saved::flag(j, "flag", false));
  CHECK(saved::flag(j, "a", true));  // not a boolean: the default
  CHECK(saved::items(j["a"], "list").size() == 2);
  CHECK(saved::items(j, "flag").empty());
}
