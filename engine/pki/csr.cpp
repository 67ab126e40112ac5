#include "engine/pki/csr.hpp"

#include <botan/exceptn.h>
#include <botan/pkcs10.h>
#include <botan/x509_ext.h>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki {

namespace {

Result<Botan::Extensions> requested_extensions(const CsrSpec& spec) {
  Botan::Extensions ext;
  if (spec.is_ca) {
    size_t limit = spec.path_len ? *spec.path_len : Botan::Cert_Extension::NO_CERT_PATH_LIMIT;
    ext.add(std::make_unique<Botan::Cert_Extension::Basic_Constraints>(*spec.is_ca, limit), true);
  }
  if (!spec.key_usage.empty())
    ext.add(std::make_unique<Botan::Cert_Extension::Key_Usage>(to_botan(spec.key_usage)), true);
  if (!spec.ext_key_usage.empty()) {
    auto oids = eku_oids(spec.ext_key_usage);
    if (!oids) return oids.error();
    ext.add(std::make_unique<Botan::Cert_Extension::Extended_Key_Usage>(*oids), false);
  }
  if (!spec.dns_names.empty() || !spec.emails.empty() || !spec.uris.empty()) {
    Botan::AlternativeName alt;
    for (const auto& d : spec.dns_names)
      alt.add_dns(d);
    for (const auto& e : spec.emails)
      alt.add_email(e);
    for (const auto& u : spec.uris)
      alt.add_uri(u);
    ext.add(std::make_unique<Botan::Cert_Extension::Subject_Alternative_Name>(alt), false);
  }
  return ext;
}

}  // namespace

Csr wrap(Botan::PKCS10_Request req) {
  return Csr(std::make_shared<const Csr::Impl>(std::move(req)));
}

Result<Csr> Csr::build(const CsrSpec& spec, const PrivateKey& key, Rng& rng) {
  auto dn = parse_dn(spec.subject);
  if (!dn) return dn.error();
  if (spec.path_len && !(spec.is_ca && *spec.is_ca))
    return Error(ErrorKind::invalid_input, "path length", "a path length needs a CA request");
  auto ext = requested_extensions(spec);
  if (!ext) return ext.error();
  const auto& k = botan(key);
  auto scheme = signature_scheme_for(k);
  try {
    auto req = Botan::PKCS10_Request::create(k, to_botan(*dn), *ext, scheme.hash, botan(rng),
                                             scheme.padding);
    return wrap(std::move(req));
  } catch (const Botan::Exception& e) {
    return Error(ErrorKind::crypto, "CSR", std::string("cannot create the request: ") + e.what());
  }
}

Result<Csr> Csr::decode(const Bytes& data) {
  auto objects = decode_objects(data);
  if (!objects) return objects.error();
  for (const auto& obj : *objects) {
    if (obj.label != "CERTIFICATE REQUEST" && obj.label != "NEW CERTIFICATE REQUEST" &&
        !obj.label.empty())
      continue;
    try {
      Csr csr = wrap(Botan::PKCS10_Request(obj.der));
      // Botan's decoding verified the self-signature (it throws "Bad signature" otherwise):
      // remember that, so verify_signature() does not verify it a second time.
      csr.impl_->signature_ok.store(1);
      return csr;
    } catch (const Botan::Exception& e) {
      // Botan checks the self-signature while decoding.
      if (std::string(e.what()).find("Bad signature") != std::string::npos)
        return Error(ErrorKind::parse, "",
                     "the request's self-signature does not verify (altered or corrupt CSR)");
      return Error(ErrorKind::parse, "",
                   std::string("not a valid PKCS#10 request (") + e.what() + ")");
    }
  }
  if (objects->empty()) return Error(ErrorKind::parse, "", "empty file, expected a CSR");
  return Error(
      ErrorKind::parse, "",
      "holds no certificate request (found a PEM block labelled " + objects->front().label + ")");
}

Result<Csr> Csr::load(const std::filesystem::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  auto csr = decode(*bytes);
  if (!csr) return csr.error().about(path.string());
  return csr;
}

bool Csr::verify_signature() const {
  if (const int known = impl_->signature_ok.load(); known >= 0) return known == 1;
  bool ok = false;
  try {
    ok = impl_->req.check_signature(*impl_->req.subject_public_key());
  } catch (const Botan::Exception&) {
    ok = false;
  }
  impl_->signature_ok.store(ok ? 1 : 0);  // two threads that race both compute the same verdict
  return ok;
}

std::string Csr::subject() const {
  return format_dn(impl_->req.subject_dn());
}

PublicKeyInfo Csr::public_key() const {
  return describe_public_key(*impl_->req.subject_public_key());
}

Bytes Csr::der() const {
  return impl_->req.BER_encode();
}

std::string Csr::pem() const {
  return pem_encode(der(), "CERTIFICATE REQUEST");
}

CsrFacts Csr::facts() const {
  const auto& req = impl_->req;
  CsrFacts f;
  f.subject = subject();
  f.key = public_key();
  f.signature_valid = verify_signature();
  try {
    f.signature_algorithm = req.signature_algorithm().oid().to_formatted_string();
  } catch (const Botan::Exception&) {
    f.signature_algorithm = req.signature_algorithm().oid().to_string();
  }
  const auto& alt = req.subject_alt_name();
  f.dns_names.assign(alt.dns().begin(), alt.dns().end());
  f.emails.assign(alt.email().begin(), alt.email().end());
  f.uris.assign(alt.uris().begin(), alt.uris().end());
  f.key_usage = from_botan(req.constraints());
  f.ext_key_usage = eku_names(req.ex_constraints());
  const auto& ext = req.extensions();
  if (auto* bc = ext.get_extension_object_as<Botan::Cert_Extension::Basic_Constraints>()) {
    f.is_ca = bc->get_is_ca();
    if (bc->get_is_ca() && bc->get_path_limit() != Botan::Cert_Extension::NO_CERT_PATH_LIMIT)
      f.path_len = bc->get_path_limit();
  }
  return f;
}

}  // namespace pkiflow::pki
