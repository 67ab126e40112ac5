// RFC 7512 PKCS#11 URIs as a CA key's name (engine/pki/pkcs11_uri.hpp): what is read, what is
// refused (the PIN in the URI above all), and the URI written back.
#include <boost/test/unit_test.hpp>

#include "engine/pki/pkcs11_uri.hpp"
#include "tests/support/test_support.hpp"

// Each test file in its own namespace: the unity build compiles several as one.
namespace pkcs11_uri_test {

using namespace pkiflow;
using namespace pkiflow::pki;

BOOST_AUTO_TEST_SUITE(pkcs11_uri)

BOOST_AUTO_TEST_CASE(a_uri_names_token_object_module_and_where_the_pin_is) {
  auto u = parse_pkcs11_uri(
      "pkcs11:token=Offline%20CA;object=root-key;type=private;id=%01%A2"
      "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/pkiflow/hsm-pin");
  BOOST_TEST_REQUIRE(u.ok(), test::why(u));
  BOOST_TEST(u->token == "Offline CA");
  BOOST_TEST(u->object == "root-key");
  BOOST_TEST(u->type == "private");
  BOOST_TEST((u->id == std::vector<std::uint8_t>{0x01, 0xA2}));
  BOOST_TEST(u->module_path == "/usr/lib/softhsm/libsofthsm2.so");
  BOOST_TEST(u->pin_file == "/etc/pkiflow/hsm-pin");
  BOOST_TEST(u->pin_env.empty());
  // Written back, it reads the same.
  auto again = parse_pkcs11_uri(u->to_string());
  BOOST_TEST_REQUIRE(again.ok(), test::why(again));
  BOOST_TEST(again->to_string() == u->to_string());
  BOOST_TEST(u->to_string().find("token=Offline%20CA") != std::string::npos, u->to_string());

  auto env = parse_pkcs11_uri("pkcs11:slot-id=3;object=k?module-path=/m.so&pin-source=env:HSM_PIN");
  BOOST_TEST_REQUIRE(env.ok(), test::why(env));
  BOOST_TEST(env->slot_id.value_or(0) == 3u);
  BOOST_TEST(env->pin_env == "HSM_PIN");
  BOOST_TEST(is_pkcs11_uri("pkcs11:token=a"));
  BOOST_TEST(!is_pkcs11_uri("/etc/pkiflow/ca.key"));
}

BOOST_AUTO_TEST_CASE(a_uri_that_is_wrong_or_carries_the_pin_is_refused_with_the_reason) {
  struct Case {
    const char* uri;
    const char* says;
  };
  for (auto c :
       {Case{"pkcs11:token=t;object=k?module-path=/m.so&pin-value=1234",
             "\"pin-value\" puts the PIN where a command line"},
        Case{"pkcs11:token=t;object=k", "names no PKCS#11 module"},
        Case{"pkcs11:object=k?module-path=/m.so", "names no token"},
        Case{"pkcs11:token=t?module-path=/m.so", "names no key"},
        Case{"pkcs11:token=t;token=u;object=k?module-path=/m.so", "\"token\" is given twice"},
        Case{"pkcs11:token=t;colour=red;object=k?module-path=/m.so",
             "unknown path attribute \"colour\""},
        Case{"pkcs11:token=t%2;object=k?module-path=/m.so", "two hex digits"},
        Case{"pkcs11:token=t%zz;object=k?module-path=/m.so", "two hex digits"},
        Case{"pkcs11:token=t;object=k;type=key?module-path=/m.so",
             "\"type\" must be public, private"},
        Case{"pkcs11:token=t;object=k?module-path=/m.so&pin-source=https://pin",
             "\"pin-source\" must be file:/path or env:NAME"},
        Case{"pkcs11:token=t;object=k?module-path=/m.so&pin-source=file:pin",
             "must name an absolute file"},
        Case{"pkcs11:token=t;object=k?module-path=/m.so&verbose=1",
             "unknown query attribute \"verbose\""},
        Case{"pkcs11:token=t;object?module-path=/m.so", "is not name=value"},
        Case{"token=t;object=k", "must begin with \"pkcs11:\""}}) {
    BOOST_TEST_CONTEXT(c.uri) {
      auto u = parse_pkcs11_uri(c.uri);
      BOOST_TEST_REQUIRE(!u.ok());
      BOOST_TEST(u.error().what().find(c.says) != std::string::npos, u.error().what());
      BOOST_TEST(u.error().what().find("1234") == std::string::npos);  // never echoes a PIN
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace pkcs11_uri_test
