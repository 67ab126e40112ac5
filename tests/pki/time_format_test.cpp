#include <botan/asn1_obj.h>
#include <boost/test/unit_test.hpp>

#include "engine/pki/time_format.hpp"
#include "engine/pki/x509_botan.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace time_format_test {

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
                          "2026-11-25T09:00:00", "yesterday", "2026-11-25T09:00:00Zjunk",
                          // what sscanf's %d let through: signs and spaces in a digit's place,
                          // and a fraction without digits
                          "2026-+1-25T09:00:00Z", "2026-11- 5T09:00:00Z", "2026-11-25T09:00:00.Z",
                          "2026-11-25T09:00:00+-1:00", "2026-11-25T09:00:00+01:0x"}) {
    auto t = parse_rfc3339(bad);
    BOOST_TEST(!t.ok(), bad);
    if (!t.ok()) BOOST_TEST(t.error().message().find("RFC 3339") != std::string::npos);
  }
}

// Certificates and CRLs carry any year from 1950 (UTCTime) on; Botan's own conversion throws
// before 1970, which a crafted CRL once turned into a crash of `validate --crl` (found by
// tests/fuzz/fuzz_crl, kept in tests/fuzz/regressions/crl).
BOOST_AUTO_TEST_CASE(asn1_times_before_1970_and_after_2049_convert) {
  using T = Botan::ASN1_Type;
  struct Case {
    const char* encoded;
    T tag;
    const char* rfc3339;
  };
  for (const auto& c : std::vector<Case>{
           {"500101000000Z", T::UtcTime, "1950-01-01T00:00:00Z"},
           {"691231235959Z", T::UtcTime, "1969-12-31T23:59:59Z"},
           {"700101000000Z", T::UtcTime, "1970-01-01T00:00:00Z"},
           {"491231235959Z", T::UtcTime, "2049-12-31T23:59:59Z"},
           {"19600229120000Z", T::GeneralizedTime, "1960-02-29T12:00:00Z"},
           {"20500101000000Z", T::GeneralizedTime, "2050-01-01T00:00:00Z"},
           // Far beyond 2262 (Botan reads years to 3100): the end of what a time point holds.
           {"30001231235959Z", T::GeneralizedTime, "2262-04-11T23:47:16Z"}}) {
    BOOST_TEST_CONTEXT(c.encoded) {
      BOOST_TEST(format_rfc3339(time_point_of(Botan::ASN1_Time(c.encoded, c.tag))) == c.rfc3339);
    }
  }
}

BOOST_AUTO_TEST_CASE(years_a_time_point_cannot_hold_are_refused_by_name) {
  auto far = parse_rfc3339("3000-01-01T00:00:00Z");
  BOOST_TEST_REQUIRE(!far);
  BOOST_TEST(far.error().message().find("outside the years pkiflow handles (1678-2261)") !=
             std::string::npos);
  BOOST_TEST(!parse_rfc3339("1011-01-01T00:00:00Z"));
  BOOST_TEST(!parse_rfc3339("+202-01-01T00:00:00Z"));
  BOOST_TEST(format_rfc3339(*parse_rfc3339("2261-12-31T23:59:59Z")) == "2261-12-31T23:59:59Z");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace time_format_test
