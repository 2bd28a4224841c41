#include "nicperf/spec/spec.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "nicperf/paths/dgram_path.hpp"
#include "nicperf/paths/registry.hpp"

namespace nicperf {
namespace {

Status check_cpus(const std::vector<int>& cpus, const char* side) {
  if (cpus.size() > 1024) return usage(std::string(side) + " CPU list is longer than 1024");
  for (int c : cpus)
    if (c < 0 || c > 4095)
      return usage(std::string(side) + " CPU " + std::to_string(c) + " is out of range 0-4095");
  return ok();
}

Status check_numbers(const TestSpec& s, const SpecLimits& lim) {
  if (s.streams < 1 || s.streams > lim.max_streams)
    return usage("streams must be 1-" + std::to_string(lim.max_streams) + ", got " +
                 std::to_string(s.streams));
  if (s.block_len < 1 || s.block_len > lim.max_block_len)
    return usage("block length must be 1-" + std::to_string(lim.max_block_len) + " bytes, got " +
                 std::to_string(s.block_len));
  // With -n the duration is unused; the server's --max-duration then bounds the run time.
  double max_duration = s.bytes ? SpecLimits{}.max_duration : lim.max_duration;
  if (!std::isfinite(s.duration) || s.duration <= 0 || s.duration > max_duration)
    return usage("duration must be >0 and at most " + std::to_string(int(max_duration)) + " s");
  if (s.bytes > lim.max_bytes) return usage("byte count exceeds " + std::to_string(lim.max_bytes));
  if (!std::isfinite(s.interval) || (s.interval != 0 && (s.interval < 0.1 || s.interval > 60)))
    return usage("interval must be 0 (off) or 0.1-60 s");
  if (!std::isfinite(s.omit) || s.omit < 0 || s.omit > 600) return usage("omit must be 0-600 s");
  if (s.window > (1ull << 31)) return usage("window must be at most 2G");
  if (s.uring_depth < 1 || s.uring_depth > 256) return usage("uring depth must be 1-256");
  if (s.batch < 1 || s.batch > kMaxDgramBatch)
    return usage("batch must be 1-" + std::to_string(kMaxDgramBatch));
  if (s.burst < 0 || s.burst > 1'000'000) return usage("burst must be 0-1000000 datagrams");
  if (s.rate > (1ull << 50) || s.fq_rate > (1ull << 50)) return usage("rate exceeds 1 Pbit/s");
  // Linux takes TCP_MAXSEG from 88 (TCP_MIN_MSS) to 32767 (MAX_TCP_WINDOW).
  if (s.mss != 0 && (s.mss < 88 || s.mss > 32767)) return usage("MSS (-M) must be 88-32767 bytes");
  if (s.tos < 0 || s.tos > 255) return usage("TOS (-S) must be 0-255");
  if (s.req_len < 1 || s.req_len > lim.max_block_len || s.resp_len < 1 ||
      s.resp_len > lim.max_block_len)
    return usage("request and response sizes must be 1-" + std::to_string(lim.max_block_len) +
                 " bytes");
  return ok();
}

Status validate_udp(const TestSpec& s) {
  if (s.block_len < kDgramHeaderSize || s.block_len > kMaxDgramLen)
    return usage("UDP datagram length (-l) must be " + std::to_string(kDgramHeaderSize) + "-" +
                 std::to_string(kMaxDgramLen) + " bytes, got " + std::to_string(s.block_len));
  if (!find_dgram_send_path(s.send_mode))
    return usage("unknown UDP send mode '" + s.send_mode + "' (see --mode list)");
  if (!find_dgram_recv_path(s.recv_mode))
    return usage("unknown UDP receive mode '" + s.recv_mode + "' (see --mode list)");
  if (s.omit > 0) return usage("-O is for TCP slow start; UDP has none: drop -O");
  if (s.verify && s.random_payload)
    return usage("--verify checks the pattern and cannot be combined with --random-payload");
  if (s.bytes > 0 && s.bytes < s.block_len * std::uint64_t(s.streams))
    return usage("byte count must be at least one datagram per stream");
  return ok();
}

Status validate_rr(const TestSpec& s) {
  if (s.direction != Direction::kNormal)
    return usage("--rr cannot be combined with -R or --bidir (the client always asks)");
  if (s.send_mode != "write" || s.recv_mode != "read")
    return usage("--rr uses write and read; leave out --mode and --recv-mode");
  if (s.verify) return usage("--rr cannot be combined with --verify");
  if (s.mode == Mode::kUdpRr && std::max(s.req_len, s.resp_len) > kMaxDgramLen)
    return usage("--rr -u: --req and --resp must each fit one datagram (at most " +
                 std::to_string(kMaxDgramLen) + " bytes)");
  return ok();
}

}  // namespace

const char* direction_name(Direction d) {
  switch (d) {
    case Direction::kNormal:
      return "normal";
    case Direction::kReverse:
      return "reverse";
    case Direction::kBidir:
      return "bidir";
  }
  return "normal";
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kBulk:
      return "bulk";
    case Mode::kDatagram:
      return "datagram";
    case Mode::kRr:
      return "rr";
    case Mode::kUdpRr:
      return "udp_rr";
  }
  return "bulk";
}

std::optional<Mode> parse_mode(const std::string& name) {
  for (auto m : {Mode::kBulk, Mode::kDatagram, Mode::kRr, Mode::kUdpRr})
    if (name == mode_name(m)) return m;
  return std::nullopt;
}

const char* protocol_name(Mode m) {
  return m == Mode::kDatagram || m == Mode::kUdpRr ? "udp" : "tcp";
}

Expected<Mode> mode_from(const std::string& protocol, bool rr) {
  if (protocol != "tcp" && protocol != "udp")
    return usage("protocol '" + protocol + "' is not supported (tcp or udp)");
  if (protocol == "udp") return rr ? Mode::kUdpRr : Mode::kDatagram;
  return rr ? Mode::kRr : Mode::kBulk;
}

const char* cost_level_name(CostLevel level) {
  switch (level) {
    case CostLevel::kOff:
      return "off";
    case CostLevel::kRusage:
      return "rusage";
    case CostLevel::kCounters:
      return "counters";
    case CostLevel::kRing:
      return "ring";
    case CostLevel::kBpf:
      return "bpf";
    case CostLevel::kFull:
      return "full";
  }
  return "off";
}

std::optional<CostLevel> parse_cost_level(const std::string& name) {
  for (auto l : {CostLevel::kOff, CostLevel::kRusage, CostLevel::kCounters, CostLevel::kRing,
                 CostLevel::kBpf, CostLevel::kFull})
    if (name == cost_level_name(l)) return l;
  return std::nullopt;
}

Expected<CostLevel> cost_level_from(const std::string& name) {
  if (auto level = parse_cost_level(name)) return *level;
  return usage("cost level must be full, bpf, ring, counters, rusage or off, got '" + name +
               "'");
}

Status validate(const TestSpec& s, const SpecLimits& lim) {
  if (auto st = check_numbers(s, lim); !st) return st;
  if (is_udp(s)) return validate_udp(s);
  if (is_rr(s)) return validate_rr(s);
  if (auto st = check_cpus(s.client_cpus, "client"); !st) return st;
  if (auto st = check_cpus(s.server_cpus, "server"); !st) return st;
  if (s.congestion.size() > 15 || s.congestion.find_first_of(" \n\t/") != std::string::npos)
    return usage("congestion algorithm '" + s.congestion + "' is not a valid name");
  if (!find_send_path(s.send_mode)) return usage("unknown send mode '" + s.send_mode + "'");
  const auto* recv = find_recv_path(s.recv_mode);
  if (!recv) return usage("unknown receive mode '" + s.recv_mode + "'");
  if (s.verify && !(recv->caps & kCapDelivers))
    return usage("--verify needs a receive mode that delivers the data (receive mode '" +
                 s.recv_mode + "' does not)");
  if (s.verify && s.random_payload)
    return usage("--verify checks the pattern and cannot be combined with --random-payload");
  if (s.bytes > 0 && s.bytes < static_cast<std::uint64_t>(s.streams))
    return usage("byte count must be at least the number of streams");
  return ok();
}

nlohmann::json to_json(const TestSpec& s) {
  nlohmann::json j = {{"protocol", protocol_name(s.mode)},
          {"streams", s.streams},
          {"block_len", s.block_len},
          {"duration", s.duration},
          {"bytes", s.bytes},
          {"direction", direction_name(s.direction)},
          {"interval", s.interval},
          {"omit", s.omit},
          {"client_cpus", s.client_cpus},
          {"server_cpus", s.server_cpus},
          {"window", s.window},
          {"no_delay", s.no_delay},
          {"congestion", s.congestion},
          {"send_mode", s.send_mode},
          {"recv_mode", s.recv_mode},
          {"uring_depth", s.uring_depth},
          {"cost", cost_level_name(s.cost)},
          {"verify", s.verify},
          {"random_payload", s.random_payload},
          {"get_server_output", s.get_server_output},
          {"rate", s.rate},
          {"burst", s.burst},
          {"batch", s.batch},
          {"fq_rate", s.fq_rate},
          {"rr", is_rr(s)},
          {"req_len", s.req_len},
          {"resp_len", s.resp_len}};
  if (s.profile) j["profile"] = true;
  if (s.mss) j["mss"] = s.mss;
  if (s.tos) j["tos"] = s.tos;
  if (s.dont_fragment) j["dont_fragment"] = true;
  return j;
}

namespace {

// Reads one field with a type check; nlohmann's own conversions would throw or narrow silently.
struct Reader {
  const nlohmann::json& j;
  std::string error;

  const nlohmann::json* field(const char* key) {
    auto it = j.find(key);
    if (it == j.end()) {
      if (error.empty()) error = std::string("missing field '") + key + "'";
      return nullptr;
    }
    return &*it;
  }
  void fail(const char* key, const char* type) {
    if (error.empty()) error = std::string("field '") + key + "' must be " + type;
  }
  template <class T>
  void integer(const char* key, T& out) {
    auto* f = field(key);
    if (!f) return;
    bool fits = f->is_number_unsigned()  ? std::in_range<T>(f->get<std::uint64_t>())
                : f->is_number_integer() ? std::in_range<T>(f->get<std::int64_t>())
                                         : false;
    if (!fits) return fail(key, "an integer in range");
    out = f->is_number_unsigned() ? T(f->get<std::uint64_t>()) : T(f->get<std::int64_t>());
  }
  void number(const char* key, double& out) {
    auto* f = field(key);
    if (!f) return;
    if (!f->is_number()) return fail(key, "a number");
    out = f->get<double>();
  }
  void boolean(const char* key, bool& out) {
    auto* f = field(key);
    if (!f) return;
    if (!f->is_boolean()) return fail(key, "true or false");
    out = f->get<bool>();
  }
  void string(const char* key, std::string& out) {
    auto* f = field(key);
    if (!f) return;
    if (!f->is_string() || f->get_ref<const std::string&>().size() > 64)
      return fail(key, "a string of at most 64 characters");
    out = f->get<std::string>();
  }
  void cpus(const char* key, std::vector<int>& out) {
    auto* f = field(key);
    if (!f) return;
    if (!f->is_array() || f->size() > 1024) return fail(key, "an array of at most 1024 CPUs");
    out.clear();
    for (auto& c : *f) {
      if (!c.is_number_integer() || c.get<std::int64_t>() < 0 || c.get<std::int64_t>() > 4095)
        return fail(key, "an array of CPU numbers 0-4095");
      out.push_back(c.get<int>());
    }
  }
};

}  // namespace

Expected<TestSpec> spec_from_json(const nlohmann::json& j, const SpecLimits& limits) {
  if (!j.is_object()) return Error{Errc::kProtocol, "test parameters must be a JSON object"};
  static const char* const kKnown[] = {
      "protocol",    "streams",  "block_len",  "duration",       "bytes",
      "direction",   "interval", "omit",       "client_cpus",    "server_cpus",
      "window",      "no_delay", "congestion", "send_mode",      "recv_mode",
      "uring_depth", "cost",     "verify",     "random_payload", "get_server_output",
      "rate",        "burst",    "batch",      "fq_rate",        "rr",
      "req_len",     "resp_len", "profile"};
  // Sent only when set (iperf3's socket options), so older specs read the same.
  static const char* const kOptional[] = {"mss", "tos", "dont_fragment"};
  for (auto& [key, value] : j.items()) {
    bool known = false;
    for (auto* k : kKnown) known = known || key == k;
    for (auto* k : kOptional) known = known || key == k;
    if (!known) return Error{Errc::kProtocol, "unknown test parameter '" + key.substr(0, 64) + "'"};
  }
  TestSpec s;
  Reader r{j, {}};
  std::string direction, protocol, cost;
  bool rr = false;
  r.string("protocol", protocol);
  r.integer("streams", s.streams);
  r.integer("block_len", s.block_len);
  r.number("duration", s.duration);
  r.integer("bytes", s.bytes);
  r.string("direction", direction);
  r.number("interval", s.interval);
  r.number("omit", s.omit);
  r.cpus("client_cpus", s.client_cpus);
  r.cpus("server_cpus", s.server_cpus);
  r.integer("window", s.window);
  r.boolean("no_delay", s.no_delay);
  r.string("congestion", s.congestion);
  r.string("send_mode", s.send_mode);
  r.string("recv_mode", s.recv_mode);
  r.integer("uring_depth", s.uring_depth);
  r.string("cost", cost);
  r.boolean("verify", s.verify);
  r.boolean("random_payload", s.random_payload);
  r.boolean("get_server_output", s.get_server_output);
  r.integer("rate", s.rate);
  r.integer("burst", s.burst);
  r.integer("batch", s.batch);
  r.integer("fq_rate", s.fq_rate);
  r.boolean("rr", rr);
  r.integer("req_len", s.req_len);
  r.integer("resp_len", s.resp_len);
  if (j.contains("profile")) r.boolean("profile", s.profile);
  if (j.contains("mss")) r.integer("mss", s.mss);
  if (j.contains("tos")) r.integer("tos", s.tos);
  if (j.contains("dont_fragment")) r.boolean("dont_fragment", s.dont_fragment);
  if (!r.error.empty()) return Error{Errc::kProtocol, r.error};
  if (direction == "normal")
    s.direction = Direction::kNormal;
  else if (direction == "reverse")
    s.direction = Direction::kReverse;
  else if (direction == "bidir")
    s.direction = Direction::kBidir;
  else
    return Error{Errc::kProtocol, "field 'direction' must be normal, reverse or bidir"};
  auto mode = mode_from(protocol, rr);
  auto level = cost_level_from(cost);
  if (mode) s.mode = *mode;
  if (level) s.cost = *level;
  if (!mode && protocol != "udp") return mode.error();  // an unknown protocol is refused first
  if (!level || !mode) {
    // In the order validation checked them: the numbers, the cost level, then --rr over UDP.
    if (auto st = check_numbers(s, limits); !st) return st.error();
    return level ? mode.error() : level.error();
  }
  if (auto st = validate(s, limits); !st) return st.error();
  return s;
}

bool client_sends(const TestSpec& spec, int index) {
  switch (spec.direction) {
    case Direction::kNormal:
      return true;
    case Direction::kReverse:
      return false;
    case Direction::kBidir:
      return index % 2 == 0;
  }
  return true;
}

int connection_count(const TestSpec& spec) {
  return spec.direction == Direction::kBidir ? spec.streams * 2 : spec.streams;
}

std::uint64_t stream_byte_budget(const TestSpec& spec, int index) {
  if (spec.bytes == 0) return 0;
  // Per direction: the streams of one direction share spec.bytes.
  int per_direction = spec.streams;
  int rank = spec.direction == Direction::kBidir ? index / 2 : index;
  std::uint64_t base = spec.bytes / std::uint64_t(per_direction);
  std::uint64_t extra = std::uint64_t(rank) < spec.bytes % std::uint64_t(per_direction) ? 1 : 0;
  return base + extra;
}

}  // namespace nicperf
