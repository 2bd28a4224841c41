// The control protocol's wire format, as pure functions (no sockets), so it can be tested and
// fuzzed alone.
//
// Every connection opens with a fixed 48-byte greeting:
//   0..3 "NPRF", 4 kind (1 control, 2 data), 5 protocol version, 6..7 stream index (BE),
//   8..39 cookie (32 lowercase hex), 40..47 zero.
// After it, the control connection carries frames: a 4-byte big-endian length, then that many
// bytes of one JSON object {"v": version, "type": ..., ...}.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "nicperf/util/error.hpp"

namespace nicperf {

inline constexpr int kProtocolVersion = 1;
inline constexpr std::size_t kGreetingSize = 48;
inline constexpr std::size_t kCookieLen = 32;
inline constexpr std::size_t kMaxFrame = 4u << 20;
inline constexpr int kMaxJsonDepth = 32;

enum class ConnKind : std::uint8_t { kControl = 1, kData = 2 };

// Every greeting starts with these four bytes (a UDP stream's repeated greeting too).
inline constexpr char kGreetingMagic[4] = {'N', 'P', 'R', 'F'};

struct Greeting {
  ConnKind kind = ConnKind::kControl;
  int version = kProtocolVersion;
  int stream = 0;
  std::string cookie;
};

std::array<char, kGreetingSize> encode_greeting(const Greeting& g);
Expected<Greeting> decode_greeting(std::string_view bytes);
std::string make_cookie();

using Json = nlohmann::json;

// X(name, wire string): the control message types, one list for the enum and its names.
#define NICPERF_MSG_TYPES(X) \
  X(kParams, "params")       \
  X(kAccept, "accept")       \
  X(kChallenge, "challenge") \
  X(kAuth, "auth")           \
  X(kStart, "start")         \
  X(kStop, "stop")           \
  X(kResults, "results")     \
  X(kError, "error")

enum class MsgType {
#define NICPERF_MSG_ENUM(name, text) name,
  NICPERF_MSG_TYPES(NICPERF_MSG_ENUM)
#undef NICPERF_MSG_ENUM
};

const char* msg_type_name(MsgType type);
// An unknown type is a protocol error: a peer that speaks another dialect must not be ignored.
Expected<MsgType> msg_type_from(std::string_view name);

// A decoded frame: its type, decoded once where the frame is read, and the whole message.
struct Frame {
  MsgType type;
  Json msg;
};

// Adds "v" and the length prefix.
std::string encode_frame(Json msg);
Json error_message(Errc code, const std::string& text);
Json make_message(MsgType type);
// {"pid", "boot_id"}: lets the peer tell our threads apart when both share one kernel.
Json host_json(int pid, const std::string& boot_id);
void read_host(const Json& msg, int& pid, std::string& boot_id);

// Accumulates bytes; next() yields whole frames. After an error the decoder stays failed.
class FrameDecoder {
 public:
  void feed(const char* data, std::size_t size);
  // A frame, nothing yet (nullopt), or an error for a malformed one.
  Expected<std::optional<Frame>> next();
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  std::optional<Error> failed_;
};

// Decodes one frame body (without the length prefix): JSON object, depth, version, type.
Expected<Frame> decode_body(std::string_view body);

}  // namespace nicperf
