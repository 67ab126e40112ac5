#include "engine/pki/validate/detail/x509_parts.hpp"

#include <botan/ber_dec.h>
#include <botan/der_enc.h>
#include <botan/exceptn.h>

#include <unordered_map>

#include "engine/pki/x509_botan.hpp"

namespace pkiflow::pki::detail {

namespace {

using Botan::ASN1_Class;
using Botan::ASN1_Type;
using Botan::BER_Decoder;
using Botan::BER_Object;

std::vector<std::uint8_t> value_of(const BER_Object& obj) {
  return {obj.bits(), obj.bits() + obj.length()};
}

std::uint32_t tag_of(const BER_Object& obj) {
  return static_cast<std::uint32_t>(obj.type());
}

bool context(const BER_Object& obj) {
  return (static_cast<std::uint32_t>(obj.get_class()) & 0xC0) ==
         static_cast<std::uint32_t>(ASN1_Class::ContextSpecific);
}

// A non-negative INTEGER that fits the counters of RFC 5280 (SkipCerts); larger values are
// capped, they mean "never" for any real path.
std::size_t small_uint(const BER_Object& obj) {
  if (obj.length() == 0) throw Botan::Decoding_Error("empty INTEGER");
  if (obj.bits()[0] & 0x80) throw Botan::Decoding_Error("negative SkipCerts");
  std::size_t v = 0;
  for (std::size_t i = 0; i < obj.length(); ++i) {
    if (v > (std::size_t{1} << 48)) return std::size_t{1} << 48;
    v = (v << 8) | obj.bits()[i];
  }
  return v;
}

std::string oid_of(BER_Decoder& in) {
  Botan::OID oid;
  in.decode(oid);
  return oid.to_string();
}

Reasons reasons_of(const BER_Object& obj) {
  if (obj.length() == 0) throw Botan::Decoding_Error("empty ReasonFlags");
  const std::uint8_t unused = obj.bits()[0];
  if (unused > 7) throw Botan::Decoding_Error("bad ReasonFlags");
  Reasons r = 0;
  for (std::size_t byte = 1; byte < obj.length() && byte <= 2; ++byte)
    for (unsigned bit = 0; bit < 8; ++bit)
      if (obj.bits()[byte] & (0x80u >> bit))
        r = static_cast<Reasons>(r | (1u << ((byte - 1) * 8 + bit)));
  return r;
}

bool boolean_of(const BER_Object& obj) {
  if (obj.length() != 1) throw Botan::Decoding_Error("bad BOOLEAN");
  return obj.bits()[0] != 0;
}

GeneralName general_name(BER_Object obj) {
  if (!context(obj)) throw Botan::Decoding_Error("GeneralName is not context-tagged");
  GeneralName n;
  const std::uint32_t tag = tag_of(obj);
  if (tag > 8) throw Botan::Decoding_Error("unknown GeneralName tag " + std::to_string(tag));
  n.kind = static_cast<GeneralName::Kind>(tag);
  switch (n.kind) {
    case GeneralName::email:
    case GeneralName::dns:
    case GeneralName::uri:
      n.text.assign(reinterpret_cast<const char*>(obj.bits()), obj.length());
      break;
    case GeneralName::directory: {
      BER_Decoder in(std::move(obj));
      in.decode(n.dn).verify_end();
      break;
    }
    default:
      n.bytes = value_of(obj);
      break;
  }
  return n;
}

std::vector<GeneralName> general_names(BER_Decoder& seq) {
  std::vector<GeneralName> out;
  while (seq.more_items())
    out.push_back(general_name(seq.get_next_object()));
  return out;
}

// The DER contents (the RDN SETs) of a Name.
std::vector<std::uint8_t> name_contents(const Botan::X509_DN& dn) {
  std::vector<std::uint8_t> der;
  Botan::DER_Encoder(der).encode(dn);
  BER_Decoder in(der);
  return value_of(in.get_next_object());
}

Botan::X509_DN name_from_contents(const std::vector<std::uint8_t>& contents) {
  std::vector<std::uint8_t> der;
  Botan::DER_Encoder(der).add_object(ASN1_Type::Sequence, ASN1_Class::Constructed, contents);
  Botan::X509_DN dn;
  BER_Decoder(der).decode(dn).verify_end();
  return dn;
}

DistributionPointName dp_name(BER_Object outer) {
  BER_Decoder in(std::move(outer));
  BER_Object choice = in.get_next_object();
  in.verify_end();
  DistributionPointName name;
  if (context(choice) && tag_of(choice) == 0) {
    BER_Decoder names(std::move(choice));
    name.full = general_names(names);
  } else if (context(choice) && tag_of(choice) == 1) {
    // [1] IMPLICIT RelativeDistinguishedName: the SET's contents under another tag.
    std::vector<std::uint8_t> set;
    Botan::DER_Encoder(set).add_object(ASN1_Type::Set, ASN1_Class::Constructed, choice.bits(),
                                       choice.length());
    name.relative = name_from_contents(set);
  } else {
    throw Botan::Decoding_Error("bad DistributionPointName");
  }
  return name;
}

}  // namespace

const char* kind_name(GeneralName::Kind k) {
  switch (k) {
    case GeneralName::other:
      return "otherName";
    case GeneralName::email:
      return "rfc822Name";
    case GeneralName::dns:
      return "dNSName";
    case GeneralName::x400:
      return "x400Address";
    case GeneralName::directory:
      return "directoryName";
    case GeneralName::edi:
      return "ediPartyName";
    case GeneralName::uri:
      return "uniformResourceIdentifier";
    case GeneralName::ip:
      return "iPAddress";
    case GeneralName::registered:
      return "registeredID";
  }
  return "GeneralName";
}

std::string describe(const GeneralName& n) {
  switch (n.kind) {
    case GeneralName::email:
    case GeneralName::dns:
    case GeneralName::uri:
      return std::string(kind_name(n.kind)) + " '" + n.text + "'";
    case GeneralName::directory:
      return "directoryName '" + format_dn(n.dn) + "'";
    case GeneralName::ip: {
      std::string s;
      const std::size_t addr =
          n.bytes.size() == 8 || n.bytes.size() == 32 ? n.bytes.size() / 2 : n.bytes.size();
      auto part = [&](std::size_t from, std::size_t to) {
        std::string out;
        const bool v4 = to - from == 4;
        for (std::size_t i = from; i < to; ++i) {
          if (v4) {
            out += (i == from ? "" : ".") + std::to_string(n.bytes[i]);
          } else {
            static const char* hex = "0123456789abcdef";
            if (i != from && (i - from) % 2 == 0) out += ':';
            out += hex[n.bytes[i] >> 4];
            out += hex[n.bytes[i] & 15];
          }
        }
        return out;
      };
      s = part(0, addr);
      if (addr != n.bytes.size()) s += "/" + part(addr, n.bytes.size());
      return "iPAddress " + s;
    }
    default:
      return kind_name(n.kind);
  }
}

std::vector<GeneralName> decode_general_names(const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Decoder seq = in.start_sequence();
  auto out = general_names(seq);
  seq.end_cons();
  in.verify_end();
  return out;
}

std::vector<std::string> decode_certificate_policies(const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Decoder seq = in.start_sequence();
  std::vector<std::string> out;
  while (seq.more_items()) {
    BER_Decoder info = seq.start_sequence();
    out.push_back(oid_of(info));
    info.discard_remaining();  // policyQualifiers: informational only
    info.end_cons();
  }
  seq.end_cons();
  in.verify_end();
  if (out.empty()) throw Botan::Decoding_Error("certificatePolicies is empty");
  return out;
}

std::vector<std::pair<std::string, std::string>> decode_policy_mappings(
    const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Decoder seq = in.start_sequence();
  std::vector<std::pair<std::string, std::string>> out;
  while (seq.more_items()) {
    BER_Decoder pair = seq.start_sequence();
    std::string issuer = oid_of(pair);
    std::string subject = oid_of(pair);
    pair.end_cons();
    out.emplace_back(std::move(issuer), std::move(subject));
  }
  seq.end_cons();
  in.verify_end();
  if (out.empty()) throw Botan::Decoding_Error("policyMappings is empty");
  return out;
}

PolicyConstraints decode_policy_constraints(const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Decoder seq = in.start_sequence();
  PolicyConstraints pc;
  while (seq.more_items()) {
    BER_Object obj = seq.get_next_object();
    if (!context(obj)) throw Botan::Decoding_Error("bad policyConstraints");
    if (tag_of(obj) == 0)
      pc.require_explicit = small_uint(obj);
    else if (tag_of(obj) == 1)
      pc.inhibit_mapping = small_uint(obj);
    else
      throw Botan::Decoding_Error("bad policyConstraints");
  }
  seq.end_cons();
  in.verify_end();
  // RFC 5280 4.2.1.11: conforming CAs MUST NOT issue an empty policyConstraints.
  if (!pc.require_explicit && !pc.inhibit_mapping)
    throw Botan::Decoding_Error("policyConstraints is empty");
  return pc;
}

std::size_t decode_small_integer(const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Object obj = in.get_next_object();
  obj.assert_is_a(ASN1_Type::Integer, ASN1_Class::Universal, "INTEGER");
  in.verify_end();
  return small_uint(obj);
}

std::size_t decode_inhibit_any_policy(const std::vector<std::uint8_t>& der) {
  return decode_small_integer(der);
}

bool same_name(const GeneralName& a, const GeneralName& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case GeneralName::directory:
      return a.dn == b.dn;
    case GeneralName::email:
    case GeneralName::dns:
    case GeneralName::uri:
      return a.text == b.text;
    default:
      return a.bytes == b.bytes;
  }
}

NameConstraints decode_name_constraints(const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Decoder seq = in.start_sequence();
  NameConstraints nc;
  while (seq.more_items()) {
    BER_Object subtrees = seq.get_next_object();
    if (!context(subtrees) || tag_of(subtrees) > 1)
      throw Botan::Decoding_Error("bad nameConstraints");
    auto& into = tag_of(subtrees) == 0 ? nc.permitted : nc.excluded;
    BER_Decoder list(std::move(subtrees));
    while (list.more_items()) {
      BER_Decoder subtree = list.start_sequence();
      into.push_back(general_name(subtree.get_next_object()));
      // minimum and maximum: RFC 5280 4.2.1.10 says they MUST be absent (0 and none); any
      // other value is a constraint pkiflow cannot honour.
      while (subtree.more_items()) {
        BER_Object bound = subtree.get_next_object();
        if (!context(bound) || tag_of(bound) > 1 || tag_of(bound) == 1 || small_uint(bound) != 0)
          throw Botan::Decoding_Error("GeneralSubtree with minimum or maximum");
      }
      subtree.end_cons();
    }
  }
  seq.end_cons();
  in.verify_end();
  if (nc.permitted.empty() && nc.excluded.empty())
    throw Botan::Decoding_Error("nameConstraints is empty");
  return nc;
}

std::string describe_reasons(Reasons r) {
  static const char* names[] = {
      "unused",      "keyCompromise",        "cACompromise",    "affiliationChanged",
      "superseded",  "cessationOfOperation", "certificateHold", "privilegeWithdrawn",
      "aACompromise"};
  std::string out;
  for (unsigned k = 0; k < 9; ++k)
    if (r & (1u << k)) out += (out.empty() ? "" : ", ") + std::string(names[k]);
  return out.empty() ? "none" : out;
}

std::vector<DistributionPoint> decode_distribution_points(const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Decoder seq = in.start_sequence();
  std::vector<DistributionPoint> out;
  while (seq.more_items()) {
    BER_Decoder dp = seq.start_sequence();
    DistributionPoint point;
    while (dp.more_items()) {
      BER_Object field = dp.get_next_object();
      if (!context(field)) throw Botan::Decoding_Error("bad DistributionPoint");
      switch (tag_of(field)) {
        case 0:
          point.name = dp_name(std::move(field));
          break;
        case 1:
          point.reasons = reasons_of(field);
          break;
        case 2: {
          BER_Decoder names(std::move(field));
          point.crl_issuer = general_names(names);
          break;
        }
        default:
          throw Botan::Decoding_Error("bad DistributionPoint");
      }
    }
    dp.end_cons();
    // RFC 5280 4.2.1.13: a DistributionPoint MUST NOT consist of only the reasons field.
    if (!point.name && point.crl_issuer.empty())
      throw Botan::Decoding_Error("DistributionPoint names neither a point nor a CRL issuer");
    out.push_back(std::move(point));
  }
  seq.end_cons();
  in.verify_end();
  return out;
}

IssuingDistributionPoint decode_issuing_distribution_point(const std::vector<std::uint8_t>& der) {
  BER_Decoder in(der);
  BER_Decoder seq = in.start_sequence();
  IssuingDistributionPoint idp;
  while (seq.more_items()) {
    BER_Object field = seq.get_next_object();
    if (!context(field)) throw Botan::Decoding_Error("bad issuingDistributionPoint");
    switch (tag_of(field)) {
      case 0:
        idp.name = dp_name(std::move(field));
        break;
      case 1:
        idp.only_user = boolean_of(field);
        break;
      case 2:
        idp.only_ca = boolean_of(field);
        break;
      case 3:
        idp.only_some_reasons = reasons_of(field);
        break;
      case 4:
        idp.indirect = boolean_of(field);
        break;
      case 5:
        idp.only_attribute = boolean_of(field);
        break;
      default:
        throw Botan::Decoding_Error("bad issuingDistributionPoint");
    }
  }
  seq.end_cons();
  in.verify_end();
  return idp;
}

std::optional<std::vector<std::uint8_t>> extension_value(const Botan::Extensions& ext,
                                                         const char* oid) {
  // Parsed once per thread: the callers pass the constants of namespace oids.
  static thread_local std::unordered_map<const char*, Botan::OID> parsed;
  auto it = parsed.find(oid);
  if (it == parsed.end()) it = parsed.emplace(oid, Botan::OID::from_string(oid)).first;
  if (!ext.extension_set(it->second)) return std::nullopt;
  return ext.get_extension_bits(it->second);
}

Botan::X509_DN append_rdn(const Botan::X509_DN& base, const Botan::X509_DN& rdn) {
  auto contents = name_contents(base);
  const auto more = name_contents(rdn);
  contents.insert(contents.end(), more.begin(), more.end());
  return name_from_contents(contents);
}

}  // namespace pkiflow::pki::detail
