#include "nicperf/tools/saved_result.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <sstream>

namespace nicperf {
namespace saved {

const Json* at(const Json& j, std::initializer_list<const char*> path) {
  const Json* p = &j;
  for (const char* k : path) {
    if (!p->is_object() || !p->contains(k)) return nullptr;
    p = &(*p)[k];
  }
  return p;
}

std::optional<double> number(const Json& j, std::initializer_list<const char*> path) {
  const Json* p = at(j, path);
  if (p && p->is_number() && std::isfinite(p->get<double>())) return p->get<double>();
  return std::nullopt;
}

std::string text(const Json& j, std::initializer_list<const char*> path) {
  const Json* p = at(j, path);
  if (!p || p->is_null()) return "";
  std::string s = p->is_string() ? p->get<std::string>() : p->dump();
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return s;
}

bool flag(const Json& j, const char* key, bool otherwise) {
  const Json* v = at(j, {key});
  return v && v->is_boolean() ? v->get<bool>() : otherwise;
}

const Json& items(const Json& j, const char* key) {
  static const Json kNone = Json::array();
  const Json* v = at(j, {key});
  return v && v->is_array() ? *v : kNone;
}

}  // namespace saved

Expected<std::string> read_saved_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return usage(errno_text("cannot read '" + path + "'", errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Expected<Json> parse_saved_result(const std::string& content, const std::string& name) {
  Json j = Json::parse(content, nullptr, false);
  if (!j.is_discarded()) {
    if (saved::text(j, {"event"}) == "end" && j.contains("data")) return j["data"];
    return j;
  }
  Json doc = Json::object(), intervals = Json::array();
  std::istringstream lines(content);
  int number = 0;
  for (std::string line; std::getline(lines, line) && !doc.contains("end");) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json e = Json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object() || !e.contains("event"))
      return usage("'" + name + "' is not a nicperf -J or --json-stream output (line " +
                   std::to_string(number) + " is not a JSON event)");
    std::string event = saved::text(e, {"event"});
    if (event == "interval") intervals.push_back(e["data"]);
    if (event == "start" || event == "end") doc[event] = e["data"];
    if (event == "error") doc["error"] = e["data"];
  }
  if (doc.contains("end") && doc["end"].contains("compare")) return doc["end"];
  if (!intervals.empty()) doc["intervals"] = intervals;
  if (const Json* c = saved::at(doc, {"start", "context"})) doc["context"] = *c;
  return doc;
}

}  // namespace nicperf
