#include "nicperf/control/protocol.hpp"

#include <sys/random.h>

#include <cstring>

namespace nicperf {
namespace {

Error proto(const std::string& what) { return {Errc::kProtocol, what}; }

// nlohmann's values are destroyed recursively: refuse deep nesting before parsing.
bool depth_ok(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

}  // namespace

std::array<char, kGreetingSize> encode_greeting(const Greeting& g) {
  std::array<char, kGreetingSize> out{};
  std::memcpy(out.data(), kGreetingMagic, 4);
  out[4] = static_cast<char>(g.kind);
  out[5] = static_cast<char>(g.version);
  out[6] = static_cast<char>((g.stream >> 8) & 0xff);
  out[7] = static_cast<char>(g.stream & 0xff);
  std::memcpy(out.data() + 8, g.cookie.data(), std::min(g.cookie.size(), kCookieLen));
  return out;
}

Expected<Greeting> decode_greeting(std::string_view b) {
  if (b.size() != kGreetingSize) return proto("greeting must be 48 bytes");
  if (std::memcmp(b.data(), kGreetingMagic, 4) != 0)
    return proto("not a nicperf client (bad greeting)");
  Greeting g;
  auto kind = static_cast<std::uint8_t>(b[4]);
  if (kind != 1 && kind != 2) return proto("greeting has an unknown connection kind");
  g.kind = static_cast<ConnKind>(kind);
  g.version = static_cast<std::uint8_t>(b[5]);
  if (g.version != kProtocolVersion)
    return proto("client speaks protocol version " + std::to_string(g.version) +
                 ", this nicperf speaks " + std::to_string(kProtocolVersion) +
                 ": use the same nicperf version on both sides");
  g.stream = (static_cast<std::uint8_t>(b[6]) << 8) | static_cast<std::uint8_t>(b[7]);
  g.cookie.assign(b.data() + 8, kCookieLen);
  for (char c : g.cookie)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return proto("greeting cookie is not hex");
  for (std::size_t i = 40; i < kGreetingSize; ++i)
    if (b[i] != 0) return proto("greeting reserved bytes are not zero");
  return g;
}

std::string make_cookie() {
  unsigned char raw[kCookieLen / 2];
  std::size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string encode_frame(Json msg) {
  msg["v"] = kProtocolVersion;
  std::string body = msg.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string out(4, '\0');
  auto n = static_cast<std::uint32_t>(body.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out + body;
}

const char* msg_type_name(MsgType type) {
  switch (type) {
#define NICPERF_MSG_CASE(name, text) \
  case MsgType::name:                \
    return text;
    NICPERF_MSG_TYPES(NICPERF_MSG_CASE)
#undef NICPERF_MSG_CASE
    default:
      break;
  }
  return "unknown";
}

Expected<MsgType> msg_type_from(std::string_view name) {
#define NICPERF_MSG_MATCH(name_, text) \
  if (name == text) return MsgType::name_;
  NICPERF_MSG_TYPES(NICPERF_MSG_MATCH)
#undef NICPERF_MSG_MATCH
  return proto("unknown control message type '" + std::string(name.substr(0, 32)) + "'");
}

Json make_message(MsgType type) { return Json{{"type", msg_type_name(type)}}; }

Json host_json(int pid, const std::string& boot_id) { return {{"pid", pid}, {"boot_id", boot_id}}; }

void read_host(const Json& msg, int& pid, std::string& boot_id) {
  auto h = msg.find("host");
  if (h == msg.end() || !h->is_object()) return;
  auto p = h->find("pid");
  auto b = h->find("boot_id");
  if (p != h->end() && p->is_number_integer() && *p > 0 && *p < (1 << 30)) pid = p->get<int>();
  if (b != h->end() && b->is_string() && b->get_ref<const std::string&>().size() <= 64)
    boot_id = b->get<std::string>();
}

Json error_message(Errc code, const std::string& text) {
  Json m = make_message(MsgType::kError);
  m["code"] = errc_name(code);
  m["message"] = text;
  return m;
}

Expected<Frame> decode_body(std::string_view body) {
  if (!depth_ok(body)) return proto("frame JSON is nested deeper than 32 levels");
  Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return proto("frame is not valid JSON");
  if (!j.is_object()) return proto("frame is not a JSON object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer()) return proto("frame has no protocol version");
  if (*v != kProtocolVersion)
    return proto("peer speaks protocol version " + v->dump() + ", this nicperf speaks " +
                 std::to_string(kProtocolVersion) + ": use the same nicperf version on both sides");
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return proto("frame has no message type");
  auto type = msg_type_from(t->get_ref<const std::string&>());
  if (!type) return type.error();
  return Frame{*type, std::move(j)};
}

void FrameDecoder::feed(const char* data, std::size_t size) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.append(data, size);
}

Expected<std::optional<Frame>> FrameDecoder::next() {
  if (failed_) return *failed_;
  if (buffered() < 4) return std::optional<Frame>{};
  auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  std::uint32_t len = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) |
                      (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
  if (len == 0 || len > kMaxFrame) {
    failed_ =
        proto("frame length " + std::to_string(len) + " is outside 1-" + std::to_string(kMaxFrame));
    return *failed_;
  }
  if (buffered() < 4 + std::size_t(len)) return std::optional<Frame>{};
  auto body = std::string_view(buf_).substr(pos_ + 4, len);
  pos_ += 4 + len;
  auto j = decode_body(body);
  if (!j) {
    failed_ = j.error();
    return *failed_;
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return std::optional<Frame>(std::move(*j));
}

}  // namespace nicperf
