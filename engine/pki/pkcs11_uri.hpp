// PKCS#11 URIs (RFC 7512) naming a CA key in a token: "pkcs11:token=CA;object=root-key?
// module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/pkiflow/hsm-pin".
// The PIN never travels in the URI (a command line, a log and `ps` would show it): pin-value is
// refused; pin-source names a file (file:, kept 0600) or, as pkiflow's extension, an
// environment variable (env:NAME). The first brick of issue 13 part 3: keys in an HSM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow::pki {

struct Pkcs11Uri {
  // Path attributes: which token and which object in it.
  std::string token;         // the token's label
  std::string manufacturer;  // the token's manufacturer id
  std::string serial;        // the token's serial number
  std::string model;         // the token's model
  std::optional<unsigned long> slot_id;
  std::string object;            // the object's label (CKA_LABEL)
  std::vector<std::uint8_t> id;  // the object's CKA_ID (empty: not given)
  std::string type;              // public, private, cert, secret-key, data ("" = not given)
  // Query attributes: how to reach it.
  std::string module_path;  // the PKCS#11 library to load
  std::string module_name;
  std::string pin_file;  // pin-source=file:…
  std::string pin_env;   // pin-source=env:NAME (pkiflow's extension)

  // The URI again, percent-encoded where RFC 7512 asks (it never holds a PIN).
  std::string to_string() const;
};

bool is_pkcs11_uri(std::string_view text);  // starts with "pkcs11:"

// Parses and checks a URI: known attributes only, each at most once, percent-encoding valid,
// a token and an object named (label or id), a module path, no pin-value.
Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text);

}  // namespace pkiflow::pki
