#include <doctest/doctest.h>

#include "nicperf/util/units.hpp"

using namespace nicperf;

TEST_CASE("sizes use powers of 1024") {
  struct Row {
    const char* text;
    std::uint64_t want;
  };
  for (Row r : {Row{"0", 0}, Row{"128K", 131072}, Row{"128k", 131072}, Row{"1M", 1048576},
                Row{"10G", 10737418240ull}, Row{"1.5K", 1536}, Row{"1T", 1099511627776ull}}) {
    CAPTURE(r.text);
    auto v = parse_size(r.text);
    REQUIRE(v);
    CHECK(*v == r.want);
  }
}

TEST_CASE("bad sizes are refused with the text in the message") {
  for (const char* bad : {"", "K", "12Q", "-1", "1..2", "abc", "1e400", "nan"}) {
    CAPTURE(bad);
    auto v = parse_size(bad);
    REQUIRE_FALSE(v);
    CHECK(v.error().code == Errc::kUsage);
  }
}

TEST_CASE("rates use powers of 1000") {
  CHECK(*parse_rate("10G") == doctest::Approx(1e10));
  CHECK(*parse_rate("100m") == doctest::Approx(1e8));
  CHECK(*parse_rate("2.5k") == doctest::Approx(2500));
  CHECK_FALSE(parse_rate("fast"));
}

TEST_CASE("CPU lists") {
  CHECK(*parse_cpu_list("0,2-4") == std::vector<int>{0, 2, 3, 4});
  CHECK(*parse_cpu_list("1") == std::vector<int>{1});
  for (const char* bad : {"", ",", "a", "3-1", "-1", "0,,1", "5000", "1-"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_cpu_list(bad));
  }
}

TEST_CASE("formatting matches iperf3's three significant digits") {
  CHECK(format_bytes(2.65 * 1024 * 1024 * 1024) == "2.65 GBytes");
  CHECK(format_bytes(895 * 1024) == "895 KBytes");
  CHECK(format_bytes(0) == "0.00 Bytes");
  CHECK(format_rate(22.7e9) == "22.7 Gbits/sec");
  CHECK(format_rate(999) == "999 bits/sec");
  CHECK(format_rate(1e6) == "1.00 Mbits/sec");
}

// The expected strings follow iperf3 3.21's unit_snprintf (src/units.c): the number scaled to
// the one unit, "%4.2f" below 9.995, "%4.1f" below 99.95, else "%4.0f", then "s/sec".
TEST_CASE("-f units print as iperf3's unit_snprintf prints them") {
  CHECK(format_rate_in(9.42e9, 'm') == "9420 Mbits/sec");
  CHECK(format_rate_in(9.42e9, 'M') == "1123 MBytes/sec");
  CHECK(format_rate_in(9.42e9, 'g') == "9.42 Gbits/sec");
  CHECK(format_rate_in(9.42e9, 't') == "0.01 Tbits/sec");
  CHECK(format_rate_in(9.42e9, 'k') == "9420000 Kbits/sec");
  CHECK(format_rate_in(999, 'k') == "1.00 Kbits/sec");
  CHECK(format_rate_in(8000, 'K') == "0.98 KBytes/sec");
  CHECK(format_rate_in(99960, 'k') == " 100 Kbits/sec");
  CHECK(format_rate_in(55555, 'k') == "55.6 Kbits/sec");
  CHECK(format_rate_in(50.0 * 8 * 1024 * 1024 * 1024, 'G') == "50.0 GBytes/sec");
  CHECK(format_rate_in(8.0 * 1024 * 1024 * 1024 * 1024, 'T') == "1.00 TBytes/sec");
  // No unit, or one iperf3 does not take: the adaptive rate.
  CHECK(format_rate_in(22.7e9, 0) == format_rate(22.7e9));
  CHECK(format_rate_in(22.7e9, 'a') == format_rate(22.7e9));
  // Adaptive, as iperf3's -F line prints sizes: singular labels, four places.
  CHECK(iperf3_units(1000003, 'A') == " 977 KByte");
  CHECK(iperf3_units(3, 'A') == "3.00 Byte");
  CHECK(iperf3_units(1.5 * 1024 * 1024 * 1024, 'A') == "1.50 GByte");
  CHECK(iperf3_units(1250, 'a') == "10.0 Kbit");
}
