// Saved results as the tools (nicperf plot, nicperf diff) read them: one reader for a -J
// document or a --json-stream capture, and field readers for documents that may be hand-made
// (every field is checked before use).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>

#include "nicperf/results/results.hpp"
#include "nicperf/util/error.hpp"

namespace nicperf {

// The whole file; an unreadable one is a usage error.
Expected<std::string> read_saved_text(const std::string& path);

// A -J document, a --json-stream capture's end line, or a whole capture made one document from
// its start, interval, end and error events. A server's capture repeats them per test: the
// first test is the one read. A capture with a line that is not a JSON event is a usage error
// naming `name` and the line.
Expected<Json> parse_saved_result(const std::string& content, const std::string& name);

namespace saved {

// The value at a key path, or null when any step is missing or not an object.
const Json* at(const Json& j, std::initializer_list<const char*> path);
// A finite number at a key path.
std::optional<double> number(const Json& j, std::initializer_list<const char*> path);
// A field as one line of text ("" when absent or null): titles, notes and error lines stay
// one line whatever the document holds.
std::string text(const Json& j, std::initializer_list<const char*> path);
bool flag(const Json& j, const char* key, bool otherwise);
// An array member, or an empty array.
const Json& items(const Json& j, const char* key);

}  // namespace saved
}  // namespace nicperf
