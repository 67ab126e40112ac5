#include <boost/test/unit_test.hpp>

#include "engine/pki/time_format.hpp"

using namespace pkiflow::pki;

BOOST_AUTO_TEST_SUITE(time_format)

BOOST_AUTO_TEST_CASE(utc_times_round_trip) {
  auto t = parse_rfc3339("2026-11-25T09:00:00Z");
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(format_rfc3339(*t) == "2026-11-25T09:00:00Z");
}

BOOST_AUTO_TEST_CASE(offsets_and_fractions_are_normalised_to_utc) {
  BOOST_TEST(format_rfc3339(*parse_rfc3339("2026-11-25T10:30:00+01:30")) == "2026-11-25T09:00:00Z");
  BOOST_TEST(format_rfc3339(*parse_rfc3339("2026-11-25T09:00:00.75-00:00")) ==
             "2026-11-25T09:00:00Z");
}

BOOST_AUTO_TEST_CASE(malformed_times_are_rejected_with_an_example) {
  for (const char* bad : {"2026-11-25", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-11-25T09:00:00", "yesterday", "2026-11-25T09:00:00Zjunk"}) {
    auto t = parse_rfc3339(bad);
    BOOST_TEST(!t.ok(), bad);
    if (!t.ok()) BOOST_TEST(t.error().message().find("RFC 3339") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
