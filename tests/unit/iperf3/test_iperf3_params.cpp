// What a stock iperf3 client asks with -k, -M, -S, -b and --fq-rate, served; and what is not,
// answered with iperf3's own error numbers.
#include <doctest/doctest.h>

#include <cerrno>

#include "nicperf/iperf3/iperf3.hpp"

using namespace nicperf;
using json = nlohmann::json;

TEST_CASE("iperf3 -k, -M, -S and -b become the spec a stock client asked for") {
  auto s = iperf3::spec_from_params({{"tcp", true},
                                     {"time", 0},
                                     {"blockcount", 1000},
                                     {"len", 1024},
                                     {"parallel", 3},
                                     {"MSS", 1000},
                                     {"TOS", 0x10},
                                     {"bandwidth", 8000000},
                                     {"fqrate", 16000000},
                                     {"pacing_timer", 1000},
                                     {"title", "t"},
                                     {"extra_data", "x"}},
                                    SpecLimits{});
  REQUIRE(s);
  CHECK(s->bytes == 1000u * 1024u);  // k blocks in all, as -n counts bytes in all
  CHECK(s->mss == 1000);
  CHECK(s->tos == 0x10);
  CHECK(s->rate == 8000000u);
  CHECK(s->fq_rate == 16000000u);
}

TEST_CASE("nicperf --iperf3 sends -M, -S and -b as iperf3 names them") {
  TestSpec spec;
  spec.mss = 1200;
  spec.tos = 0x28;
  spec.rate = 1000000;
  auto p = iperf3::params_json(spec, "nicperf");
  CHECK(p["MSS"] == 1200);
  CHECK(p["TOS"] == 0x28);
  CHECK(p["bandwidth"] == 1000000);
  auto back = iperf3::spec_from_params(p, SpecLimits{});
  REQUIRE(back);
  CHECK(back->mss == 1200);
  CHECK(back->tos == 0x28);
}

TEST_CASE("a refusal carries the iperf3 error number its client prints the reason for") {
  CHECK(iperf3::server_errno({{"sctp", true}}).i_errno == iperf3::kIeNoSctp);
  CHECK(iperf3::server_errno({{"udp", true}}).i_errno == iperf3::kIeProtocol);
  // A flow label and MPTCP are the client's to set: a server serves them (its listener takes
  // MPTCP with -m).
  CHECK(iperf3::spec_from_params({{"flowlabel", 3}, {"mptcp", true}}, SpecLimits{}));
  CHECK(iperf3::server_errno({{"TOS", 300}}).i_errno == iperf3::kIeBadTos);
  auto mss = iperf3::server_errno({{"MSS", 50}});
  CHECK(mss.i_errno == iperf3::kIeSetMss);
  CHECK(mss.sys_errno == EINVAL);
  auto other = iperf3::server_errno({{"parallel", 100000}});
  CHECK(other.i_errno == iperf3::kIeNewTest);
  CHECK(other.sys_errno != 0);  // never an empty reason after "unable to create a new test:"
}
