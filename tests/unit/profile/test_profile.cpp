// Folding recorded samples into stacks, groups and top functions, with exact figures.
#include <doctest/doctest.h>

#include "nicperf/profile/profile.hpp"

using namespace nicperf;

namespace {

StackFrame k(const char* n) { return {n, true}; }
StackFrame u(const char* n) { return {n, false}; }

ProfileSample sample(std::uint64_t t, std::vector<StackFrame> frames) {
  return {t, 7, std::move(frames)};
}

// Recorded from a write() sender on loopback (names as this kernel's kallsyms gives them).
std::vector<ProfileSample> recorded() {
  std::vector<StackFrame> copy = {k("rep_movs_alternative"), k("_copy_from_iter"),
                                  k("tcp_sendmsg_locked"),   k("tcp_sendmsg"),
                                  k("__x64_sys_write"),      k("do_syscall_64"),
                                  u("[libc.so.6]"),          u("nicperf::send_loop")};
  return {
      sample(50, copy),  // before the window
      sample(100, copy),
      sample(200, {k("tcp_v4_rcv"), k("__netif_receive_skb_core"), k("net_rx_action"),
                   k("handle_softirqs"), k("do_softirq"), k("__local_bh_enable_ip"),
                   k("__dev_queue_xmit"), k("tcp_sendmsg"), k("do_syscall_64"), u("[libc.so.6]")}),
      sample(250, copy),
      sample(300, {k("__napi_schedule"), k("handle_irq_event"), k("common_interrupt"),
                   k("tcp_sendmsg"), k("do_syscall_64")}),
      sample(400, {u("nicperf::fill"), u("nicperf::send_loop")}),
      sample(401, copy),  // after it
  };
}

FoldWindow window() {
  FoldWindow w;
  w.begin_ns = 100;
  w.end_ns = 400;
  w.rate_hz = 500;  // 2 ms of CPU per sample
  w.bytes = 1'000'000;
  return w;
}

}  // namespace

TEST_CASE("frames are grouped by the innermost softirq or hardirq entry below them") {
  auto g = frame_groups({k("tcp_v4_rcv"), k("net_rx_action"), k("handle_softirqs"),
                         k("__local_bh_enable_ip"), u("[libc.so.6]")});
  CHECK(g == std::vector<FrameGroup>{FrameGroup::kSoftirq, FrameGroup::kSoftirq,
                                     FrameGroup::kSoftirq, FrameGroup::kKernel, FrameGroup::kUser});
  // A softirq run on a hardirq's exit is softirq work.
  g = frame_groups({k("net_rx_action"), k("handle_softirqs"), k("__irq_exit_rcu"),
                    k("sysvec_apic_timer_interrupt"), k("tcp_sendmsg")});
  CHECK(g == std::vector<FrameGroup>{FrameGroup::kSoftirq, FrameGroup::kSoftirq,
                                     FrameGroup::kHardirq, FrameGroup::kHardirq,
                                     FrameGroup::kKernel});
}

TEST_CASE("recorded samples fold into exact stacks, groups and top functions") {
  Profile p = fold_samples(recorded(), window());
  CHECK(p.samples == 5);
  CHECK(p.outside == 2);
  CHECK(p.threads == 1);
  CHECK(p.by_group == std::array<std::uint64_t, 4>{1, 2, 1, 1});  // user kernel softirq hardirq
  REQUIRE(p.folded.size() == 4);
  CHECK(p.folded.at("nicperf::send_loop;[libc.so.6];do_syscall_64_[k];__x64_sys_write_[k];"
                    "tcp_sendmsg_[k];tcp_sendmsg_locked_[k];_copy_from_iter_[k];"
                    "rep_movs_alternative_[k]") == 2);
  CHECK(p.folded.at("nicperf::send_loop;nicperf::fill") == 1);
  CHECK(folded_text(p, "client").find("client;nicperf::send_loop;nicperf::fill 1\n") !=
        std::string::npos);

  REQUIRE(p.top_self.size() == 4);
  CHECK(p.top_self[0].name == "rep_movs_alternative");
  CHECK(p.top_self[0].group == FrameGroup::kKernel);
  CHECK(p.top_self[0].samples == 2);
  CHECK(p.top_self[0].share == doctest::Approx(0.4));
  CHECK(p.top_self[0].cpu_ns_per_byte == doctest::Approx(4.0));  // 2 x 2 ms / 1 MB
  // Ties go by name.
  CHECK(p.top_self[1].name == "__napi_schedule");
  CHECK(p.top_self[1].group == FrameGroup::kHardirq);
  CHECK(p.top_self[2].name == "nicperf::fill");
  CHECK(p.top_self[3].name == "tcp_v4_rcv");
  CHECK(p.top_self[3].group == FrameGroup::kSoftirq);

  CHECK(p.top_inclusive[0].name == "do_syscall_64");
  CHECK(p.top_inclusive[0].samples == 4);
  CHECK(p.top_inclusive[1].name == "tcp_sendmsg");
  CHECK(p.top_inclusive[1].share == doctest::Approx(0.8));
  CHECK(p.top_inclusive[2].name == "[libc.so.6]");
  CHECK(p.top_inclusive[2].samples == 3);
  CHECK(p.top_inclusive[3].name == "nicperf::send_loop");
}

TEST_CASE("a profile survives the results exchange, stacks included") {
  Profile p = fold_samples(recorded(), window());
  p.event = "cpu-clock";
  auto back = profile_from_json(to_json(p, true));
  REQUIRE(back);
  CHECK(back->samples == p.samples);
  CHECK(back->by_group == p.by_group);
  CHECK(back->folded == p.folded);
  REQUIRE(back->top_self.size() == p.top_self.size());
  CHECK(back->top_self[3].group == FrameGroup::kSoftirq);
  CHECK_FALSE(to_json(p, false).contains("folded"));
  auto bad = to_json(p, false);
  bad["top_self"][0]["group"] = "elsewhere";
  CHECK_FALSE(profile_from_json(bad));
  CHECK(profile_text(p, "client").find("rep_movs_alternative") != std::string::npos);
}

TEST_CASE("a profile with more stacks than the exchange carries keeps the most sampled") {
  Profile p;
  p.event = "cpu-clock";
  p.rate_hz = kProfileRateHz;
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < 5000; ++i) {
    p.folded["frame;f" + std::to_string(i)] = i + 1;
    total += i + 1;
  }
  auto back = profile_from_json(to_json(p, true));
  REQUIRE(back);
  CHECK(back->folded.size() == kMaxFoldedStacks);
  CHECK(back->folded.at("frame;f4999") == 5000);
  CHECK(back->folded.count("frame;f0") == 0);
  std::uint64_t sum = 0;
  for (const auto& [stack, n] : back->folded) sum += n;
  CHECK(sum == total);
}
