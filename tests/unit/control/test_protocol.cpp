#include <doctest/doctest.h>

#include <iterator>
#include <set>
#include <string>

#include "nicperf/control/protocol.hpp"

using namespace nicperf;

namespace {

std::string framed(const std::string& body);

std::string with_length(std::uint32_t n, const std::string& body) {
  std::string out(4, '\0');
  out[0] = char(n >> 24);
  out[1] = char(n >> 16);
  out[2] = char(n >> 8);
  out[3] = char(n);
  return out + body;
}

std::string framed(const std::string& body) {
  return with_length(std::uint32_t(body.size()), body);
}

}  // namespace

TEST_CASE("greetings round trip and reject garbage") {
  std::string cookie = make_cookie();
  CHECK(cookie.size() == kCookieLen);
  auto bytes = encode_greeting({ConnKind::kData, kProtocolVersion, 300, cookie});
  auto g = decode_greeting({bytes.data(), bytes.size()});
  REQUIRE(g);
  CHECK(g->kind == ConnKind::kData);
  CHECK(g->stream == 300);
  CHECK(g->cookie == cookie);

  auto bad = bytes;
  bad[0] = 'X';
  CHECK_FALSE(decode_greeting({bad.data(), bad.size()}));
  bad = bytes;
  bad[4] = 9;
  CHECK_FALSE(decode_greeting({bad.data(), bad.size()}));
  bad = bytes;
  bad[5] = 2;
  auto v = decode_greeting({bad.data(), bad.size()});
  REQUIRE_FALSE(v);
  CHECK(v.error().message.find("version") != std::string::npos);
  bad = bytes;
  bad[10] = 'Z';
  CHECK_FALSE(decode_greeting({bad.data(), bad.size()}));
  CHECK_FALSE(decode_greeting("short"));
}

TEST_CASE("frames decode whole, in pieces and back to back") {
  std::string a = encode_frame({{"type", "params"}, {"x", 1}});
  std::string b = encode_frame({{"type", "start"}});
  FrameDecoder d;
  std::string both = a + b;
  for (char c : both.substr(0, a.size() - 1)) {
    d.feed(&c, 1);
    auto f = d.next();
    REQUIRE(f);
    CHECK_FALSE(*f);
  }
  std::string rest = both.substr(a.size() - 1);
  d.feed(rest.data(), rest.size());
  auto f1 = d.next();
  REQUIRE((f1 && *f1));
  CHECK((*f1)->type == MsgType::kParams);
  CHECK((*f1)->msg["x"] == 1);
  auto f2 = d.next();
  REQUIRE((f2 && *f2));
  CHECK((*f2)->type == MsgType::kStart);
  CHECK(d.buffered() == 0);
}

TEST_CASE("bad frames fail the decoder for good") {
  struct Row {
    std::string what;
    std::string bytes;
  };
  Row rows[] = {
      {"zero length", with_length(0, "")},
      {"huge length", with_length(0xffffffffu, "")},
      {"just over the cap", with_length(std::uint32_t(kMaxFrame + 1), "")},
      {"not json", framed("hello")},
      {"json array", framed("[]")},
      {"no version", framed(R"({"type":"x"})")},
      {"wrong version", framed(R"({"v":99,"type":"x"})")},
      {"version as string", framed(R"({"v":"1","type":"x"})")},
      {"no type", framed(R"({"v":1})")},
      {"type not a string", framed(R"({"v":1,"type":7})")},
      {"deep nesting", framed(R"({"v":1,"type":"x","a":)" + std::string(100, '[') + "1" +
                              std::string(100, ']') + "}")},
      {"invalid utf-8 is fine but truncated json is not", framed(R"({"v":1,"type":"x)")},
      {"unknown type", framed(R"({"v":1,"type":"hello"})")},
      {"type in the wrong case", framed(R"({"v":1,"type":"Params"})")},
  };
  for (auto& r : rows) {
    CAPTURE(r.what);
    FrameDecoder d;
    d.feed(r.bytes.data(), r.bytes.size());
    auto f = d.next();
    REQUIRE_FALSE(f);
    CHECK(f.error().code == Errc::kProtocol);
    std::string good = encode_frame({{"type", "start"}});
    d.feed(good.data(), good.size());
    CHECK_FALSE(d.next());  // stays failed
  }
}

TEST_CASE("a frame cut short is not a frame") {
  std::string a = encode_frame({{"type", "params"}});
  FrameDecoder d;
  d.feed(a.data(), a.size() - 3);
  auto f = d.next();
  REQUIRE(f);
  CHECK_FALSE(*f);
}

TEST_CASE("strings with brackets do not count as nesting") {
  std::string body = R"({"v":1,"type":"stop","s":")" + std::string(100, '[') + R"("})";
  auto f = decode_body(body);
  REQUIRE(f);
  CHECK(f->type == MsgType::kStop);
}

TEST_CASE("error frames carry a code and a message") {
  auto m = error_message(Errc::kRefused, "busy");
  CHECK(m["type"] == "error");
  CHECK(m["code"] == "refused");
  CHECK(m["message"] == "busy");
}

TEST_CASE("every message type round trips through its wire name") {
  const MsgType all[] = {
#define NICPERF_MSG_ALL(name, text) MsgType::name,
      NICPERF_MSG_TYPES(NICPERF_MSG_ALL)
#undef NICPERF_MSG_ALL
  };
  CHECK(std::size(all) == 8);
  std::set<std::string> names;
  for (MsgType t : all) {
    std::string name = msg_type_name(t);
    CAPTURE(name);
    names.insert(name);
    auto back = msg_type_from(name);
    REQUIRE(back);
    CHECK(*back == t);
    CHECK(make_message(t)["type"] == name);
  }
  CHECK(names.size() == std::size(all));  // no two types share a wire name
  CHECK(msg_type_from("params"));
  CHECK(*msg_type_from("error") == MsgType::kError);
}

TEST_CASE("an unknown message type is a protocol error") {
  for (const char* name : {"", "hello", "PARAMS", "param", "results ", "state"}) {
    CAPTURE(name);
    auto t = msg_type_from(name);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == Errc::kProtocol);
  }
  auto f = decode_body(R"({"v":1,"type":"shutdown"})");
  REQUIRE_FALSE(f);
  CHECK(f.error().code == Errc::kProtocol);
  CHECK(f.error().message.find("shutdown") != std::string::npos);
}
