// netdev netlink per-queue statistics (NETDEV_CMD_QSTATS_GET): the dump's replies as the kernel
// lays them out (nlmsghdr, genlmsghdr, NLA_UINT attributes of 4 or 8 bytes), recorded in the
// shape an mlx5 host answers with, parsed into one group per queue.
#include <doctest/doctest.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstring>
#include <vector>

#include "nicperf/nic/nic_dev.hpp"

using namespace nicperf::nic;

namespace {

// One reply message: type 0x1b (the family id the kernel gave), NLM_F_MULTI, attributes.
struct Reply {
  std::vector<char> buf = std::vector<char>(NLMSG_HDRLEN + GENL_HDRLEN);
  Reply& attr(std::uint16_t type, std::uint64_t v, std::size_t width) {
    std::size_t at = buf.size();
    buf.resize(at + NLA_ALIGN(NLA_HDRLEN + width));
    nlattr a{static_cast<std::uint16_t>(NLA_HDRLEN + width), type};
    std::memcpy(buf.data() + at, &a, sizeof a);
    if (width == 4) {
      auto v32 = static_cast<std::uint32_t>(v);
      std::memcpy(buf.data() + at + NLA_HDRLEN, &v32, 4);
    } else {
      std::memcpy(buf.data() + at + NLA_HDRLEN, &v, 8);
    }
    return *this;
  }
  Reply& u(std::uint16_t type, std::uint64_t v) { return attr(type, v, v >> 32 ? 8 : 4); }
  std::vector<char> done() {
    nlmsghdr h{static_cast<std::uint32_t>(buf.size()), 0x1b, NLM_F_MULTI, 1, 0};
    std::memcpy(buf.data(), &h, sizeof h);
    buf[NLMSG_HDRLEN] = 12;  // NETDEV_CMD_QSTATS_GET
    buf[NLMSG_HDRLEN + 1] = 1;
    return buf;
  }
};

std::uint64_t value(const DevCounterGroup& g, const std::string& name) {
  for (const auto& [k, v] : g.counters)
    if (k == name) return v;
  FAIL("no counter " << name << " in " << g.group);
  return 0;
}

}  // namespace

TEST_CASE("qstats: one group per queue, counters named without the direction") {
  std::vector<char> all;
  auto add = [&](std::vector<char> m) { all.insert(all.end(), m.begin(), m.end()); };
  // ifindex 4; rx queue 0: packets, bytes past 2^32 (8 bytes), alloc-fail, csum-unnecessary.
  add(Reply{}
          .u(1, 4)
          .u(2, 0)
          .u(3, 0)
          .u(8, 1234567)
          .u(9, 9'876'543'210ULL)
          .u(12, 0)
          .u(16, 1234000)
          .done());
  // tx queue 3: packets, bytes, tx-stop, tx-wake.
  add(Reply{}.u(1, 4).u(2, 1).u(3, 3).u(10, 777).u(11, 1'000'000).u(33, 5).u(34, 5).done());
  // NLMSG_DONE ends the dump and is no queue.
  nlmsghdr done{NLMSG_HDRLEN + 4, NLMSG_DONE, NLM_F_MULTI, 1, 0};
  std::vector<char> d(NLMSG_HDRLEN + 4);
  std::memcpy(d.data(), &done, sizeof done);
  add(d);

  auto q = parse_qstats(all.data(), all.size());
  REQUIRE(q.size() == 2);
  CHECK(q[0].group == "rx 0");
  CHECK(value(q[0], "packets") == 1234567);
  CHECK(value(q[0], "bytes") == 9'876'543'210ULL);
  CHECK(value(q[0], "alloc-fail") == 0);  // offered and zero: present
  CHECK(value(q[0], "csum-unnecessary") == 1234000);
  CHECK(q[0].counters.size() == 4);  // hw-drops etc. not offered: absent, not zero
  CHECK(q[1].group == "tx 3");
  CHECK(value(q[1], "packets") == 777);
  CHECK(value(q[1], "bytes") == 1'000'000);
  CHECK(value(q[1], "stop") == 5);
  CHECK(value(q[1], "wake") == 5);
}

TEST_CASE("qstats: a truncated or queue-less reply gives no group, never a read past its end") {
  auto m = Reply{}.u(1, 4).u(2, 0).u(3, 1).u(8, 10).done();
  CHECK(parse_qstats(m.data(), m.size() - 4).empty());  // the header claims more than there is
  auto device_scope = Reply{}.u(1, 4).u(8, 10).done();  // no queue type/id: a device total
  CHECK(parse_qstats(device_scope.data(), device_scope.size()).empty());
  CHECK(parse_qstats(nullptr, 0).empty());
}

TEST_CASE("qstats: the view's JSON carries them and the peer's copy reads back") {
  NicDevView v;
  v.device = "eth0";
  v.seconds = 1;
  v.identity = nlohmann::json::object();
  v.config = nlohmann::json::object();
  v.queues = {{"rx 0", {{"packets", 10}, {"bytes", 15000}}}};
  auto j = to_json(v);
  CHECK(j["queue_statistics"]["rx 0"]["packets"] == 10);
  auto back = nic_dev_from_json(j);
  REQUIRE(back);
  REQUIRE(back->queues.size() == 1);
  CHECK(back->queues[0].counters.size() == 2);
  v.queues.clear();
  v.queues_note = "per-queue statistics: not supported by driver veth";
  j = to_json(v);
  CHECK_FALSE(j.contains("queue_statistics"));
  CHECK(j["queue_statistics_note"] == v.queues_note);
  CHECK(nic_dev_block(v, "client").find("  per-queue statistics: not supported by driver veth\n") !=
        std::string::npos);
}
