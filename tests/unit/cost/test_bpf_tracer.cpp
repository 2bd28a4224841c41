#include <doctest/doctest.h>

#include <cstdlib>

#include "cost/bpf_tracer.hpp"

using namespace nicperf;

TEST_CASE("napi_poll's format file gives the field offsets, whatever the kernel's layout") {
  const char* format =
      "name: napi_poll\nID: 2291\nformat:\n"
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
      "\tfield:struct napi_struct * napi;\toffset:8;\tsize:8;\tsigned:0;\n"
      "\tfield:__data_loc char[] dev_name;\toffset:16;\tsize:4;\tsigned:0;\n"
      "\tfield:int work;\toffset:20;\tsize:4;\tsigned:1;\n"
      "\tfield:int budget;\toffset:24;\tsize:4;\tsigned:1;\n";
  auto o = parse_napi_format(format);
  REQUIRE(o);
  CHECK(o->dev_name == 16);
  CHECK(o->work == 20);
  CHECK(o->budget == 24);
  CHECK_FALSE(parse_napi_format("format:\n\tfield:int work;\toffset:20;\tsize:4;\n"));
  // dev_name as a fixed array (an old kernel) is not the __data_loc the program reads.
  CHECK_FALSE(parse_napi_format(
      "\tfield:char dev_name[16];\toffset:16;\tsize:16;\n\tfield:int work;\toffset:32;\n"
      "\tfield:int budget;\toffset:36;\n"));
}

TEST_CASE("napi work per poll falls in NapiCount's power-of-two buckets") {
  CHECK(napi_bucket(-1) == 0);
  CHECK(napi_bucket(0) == 0);
  CHECK(napi_bucket(1) == 1);
  CHECK(napi_bucket(2) == 2);
  CHECK(napi_bucket(3) == 2);
  CHECK(napi_bucket(4) == 3);
  CHECK(napi_bucket(63) == 6);
  CHECK(napi_bucket(64) == 7);
  CHECK(napi_bucket(127) == 7);
  CHECK(napi_bucket(128) == 8);
  CHECK(napi_bucket(100000) == kNapiHistBuckets - 1);
}

TEST_CASE("the window's counts are the maps' end minus their start") {
  BpfCounts a, b;
  auto idx = [](int slot, BpfClass c) { return std::size_t(slot * kBpfClasses + int(c)); };
  a.slot_class[idx(0, BpfClass::kRx)] = {1000, 10};
  b.slot_class[idx(0, BpfClass::kRx)] = {4000, 25};
  b.slot_class[idx(int(BpfSlot::kPeer), BpfClass::kHard)] = {70, 1};
  a.entries[kNetRx] = 11;
  b.entries[kNetRx] = 27;
  a.irqs[24] = {10, 1};
  b.irqs[24] = {30, 3};
  b.irqs[25] = {5, 1};
  b.other_tids[{77, int(BpfClass::kRx)}] = {9, 2};
  NapiCount n{"veth0", 1, 10, 300, 2, {}};
  a.napi[{"veth0", 1}] = n;
  n.polls = 15;
  n.packets = 460;
  n.budget_exhausted = 3;
  b.napi[{"veth0", 1}] = n;
  a.napi[{"gone", 0}] = NapiCount{"gone", 0, 5, 5, 0, {}};
  a.progs["softirq_entry"] = {1000, 10};
  b.progs["softirq_entry"] = {3500, 20};
  BpfCounts d = b.since(a);
  CHECK(d.at(0, BpfClass::kRx).ns == 3000);
  CHECK(d.at(0, BpfClass::kRx).count == 15);
  CHECK(d.bucket(0).softirq[kNetRx].ns == 3000);
  CHECK(d.bucket(int(BpfSlot::kPeer)).hardirq.count == 1);
  CHECK(d.entries[kNetRx] == 16);
  CHECK(d.irqs.at(24).count == 2);
  CHECK(d.irqs.at(25).ns == 5);
  CHECK(d.tid_bucket(77).softirq[kNetRx].count == 2);
  CHECK(d.tid_bucket(78).softirq_total().count == 0);
  REQUIRE(d.napi.size() == 1);
  CHECK(d.napi.at({"veth0", 1}).polls == 5);
  CHECK(d.napi.at({"veth0", 1}).packets == 160);
  CHECK(d.napi.at({"veth0", 1}).budget_exhausted == 1);
  CHECK(d.progs.at("softirq_entry").run_ns == 2500);
  CHECK(d.progs.at("softirq_entry").runs == 10);
}

TEST_CASE("NICPERF_DISABLE_BPF refuses the bpf level, and says so") {
  setenv("NICPERF_DISABLE_BPF", "1", 1);
  auto why = bpf_refusal();
  REQUIRE(why);
  CHECK(*why == "BPF refused: NICPERF_DISABLE_BPF=1");
  auto t = BpfTracer::start();
  CHECK_FALSE(t);
  unsetenv("NICPERF_DISABLE_BPF");
}

TEST_CASE("a bpf share offer goes through JSON and anything else is refused") {
  BpfShareOffer o{1234, {{"map:slot_class", 7}, {"prog:softirq_exit", 12}, {"link:irq_exit", 30}}};
  auto back = share_offer_from_json(to_json(o));
  REQUIRE(back);
  CHECK(back->pid == 1234);
  CHECK(back->fds == o.fds);
  for (const char* bad :
       {R"(null)", R"([])", R"({"pid":1})", R"({"pid":"1","fds":{}})", R"({"pid":0,"fds":{}})",
        R"({"pid":-5,"fds":{}})", R"({"pid":99999999999,"fds":{}})", R"({"pid":1,"fds":[]})",
        R"({"pid":1,"fds":{"map:x":-1}})", R"({"pid":1,"fds":{"map:x":"3"}})",
        R"({"pid":1,"fds":{"map:x":2.5}})", R"({"pid":1,"fds":{"map:x":16777216}})"}) {
    CAPTURE(bad);
    CHECK_FALSE(share_offer_from_json(nlohmann::json::parse(bad)));
  }
  nlohmann::json many = {{"pid", 1}, {"fds", nlohmann::json::object()}};
  for (int i = 0; i < 65; ++i) many["fds"]["map:" + std::to_string(i)] = i;
  CHECK_FALSE(share_offer_from_json(many));
  many["fds"] = {{std::string(65, 'x'), 3}};
  CHECK_FALSE(share_offer_from_json(many));
}
