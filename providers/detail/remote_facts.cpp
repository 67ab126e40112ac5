#include "providers/detail/remote_facts.hpp"

#include <botan/base64.h>

#include "engine/pki/certificate.hpp"

namespace pkiflow::providers::detail {

bool fill_from_certificate(RemoteObject& o, const std::string& text) {
  if (text.empty()) return false;
  pki::Bytes bytes(text.begin(), text.end());
  if (text.find("-----BEGIN") == std::string::npos) {
    try {
      auto der = Botan::base64_decode(text);
      bytes.assign(der.begin(), der.end());
    } catch (const std::exception&) {
      return false;
    }
  }
  auto certs = pki::Certificate::decode_all(bytes);
  if (!certs || certs->empty()) return false;
  const auto f = certs->front().facts();
  o.subject = f.subject;
  o.issuer = f.issuer;
  o.not_before = f.not_before;
  o.not_after = f.not_after;
  o.thumbprint_sha1 = f.sha1_thumbprint;
  o.certificate_pem = certs->front().pem();
  return true;
}

}  // namespace pkiflow::providers::detail
