// CA keys inside a PKCS#11 token (an HSM, a smart card, SoftHSM2).
//
// Debian's Botan source package leaves Botan's PKCS#11 module out (the OASIS headers' licence is
// unclear to Debian), so pkiflow speaks Cryptoki itself: it loads the token's module with
// p11-kit's freely licensed pkcs11.h and hands Botan a Private_Key whose signatures are made in
// the token, through PK_Ops::Signature (the interface Botan's own HSM providers implement).
// Everything else (certificate encoding, extensions, path checks) stays the local CA's own code.
//
// Mechanisms, chosen because every token that holds RSA or EC keys has them:
//   signing   CKM_RSA_PKCS over a DER DigestInfo (SHA-256/384/512 computed on the host),
//             CKM_ECDSA over a hash computed on the host (the token returns r || s);
//   key pairs CKM_RSA_PKCS_KEY_PAIR_GEN (public exponent 65537), CKM_EC_KEY_PAIR_GEN (named
//             curve P-256 or P-384), private key CKA_SENSITIVE, not CKA_EXTRACTABLE.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>

#include <botan/asn1_obj.h>
#include <botan/ber_dec.h>
#include <botan/ec_group.h>
#include <botan/ecdsa.h>
#include <botan/exceptn.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/mem_ops.h>
#include <botan/pk_ops.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "engine/pki/botan_access.hpp"
#include "engine/pki/encoded_file.hpp"
#include "engine/pki/key.hpp"

namespace pkiflow::pki {

namespace {

std::string rv_name(CK_RV rv) {
  static const std::map<CK_RV, const char*> names{
      {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
      {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
      {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
      {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
      {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
      {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
      {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
      {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
      {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
      {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
      {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
      {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
      {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
      {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
      {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
      {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
      {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
      {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
      {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
      {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
      {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
      {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
      {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
      {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
      {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
      {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
      {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
      {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
      {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
      {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
      {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
      {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"}};
  const auto it = names.find(rv);
  if (it != names.end()) return it->second;
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
  return buf;
}

// A token that is gone or unplugged: come back later (a waiting record, not a failed one).
bool token_gone(CK_RV rv) {
  return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SESSION_CLOSED ||
         rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_DEVICE_ERROR;
}

// A failed token call inside Botan's signing interface (which reports by exception). A token
// that went away reports IoError, which the local CA turns into "unavailable": try again later.
class TokenError final : public Botan::Exception {
 public:
  TokenError(const std::string& msg, CK_RV rv) : Botan::Exception(msg), gone_(token_gone(rv)) {}
  Botan::ErrorType error_type() const noexcept override {
    return gone_ ? Botan::ErrorType::IoError : Botan::ErrorType::Pkcs11Error;
  }

 private:
  bool gone_;
};

// One module per path in the process: C_Initialize once, C_Finalize when its last key goes.
// The library itself stays loaded (unloading a module that registered atexit handlers, as
// SoftHSM2's OpenSSL does, crashes the process at exit).
class Module {
 public:
  static Result<std::shared_ptr<Module>> get(const std::string& path) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Module>> loaded;
    std::lock_guard lock(mu);
    if (auto live = loaded[path].lock()) return live;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      return Error(ErrorKind::io, path, "PKCS#11 module not found (module-path in the URI)");
    if (!S_ISREG(st.st_mode))
      return Error(ErrorKind::invalid_input, path, "the PKCS#11 module is not a regular file");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
      return Error(ErrorKind::invalid_input, path,
                   "the PKCS#11 module is writable by group or others; pkiflow does not load "
                   "code that others can change");
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      return Error(ErrorKind::io, path,
                   std::string("cannot load the PKCS#11 module: ") + (why ? why : "unknown"));
    }
    // A library that is no usable module is unloaded again (it was never initialised).
    auto refuse = [handle](Error e) {
      ::dlclose(handle);
      return e;
    };
    void* sym = ::dlsym(handle, "C_GetFunctionList");
    if (!sym)
      return refuse(
          Error(ErrorKind::invalid_input, path, "is not a PKCS#11 module (no C_GetFunctionList)"));
    CK_C_GetFunctionList get_list = nullptr;
    std::memcpy(&get_list, &sym, sizeof get_list);
    CK_FUNCTION_LIST_PTR fn = nullptr;
    if (CK_RV rv = get_list(&fn); rv != CKR_OK || !fn)
      return refuse(Error(ErrorKind::crypto, path, "C_GetFunctionList failed: " + rv_name(rv)));
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = fn->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
      return refuse(Error(ErrorKind::crypto, path, "C_Initialize failed: " + rv_name(rv)));
    auto m = std::shared_ptr<Module>(new Module(path, fn, rv == CKR_OK));
    loaded[path] = m;
    return m;
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module() {
    if (finalize_) fn_->C_Finalize(nullptr);
  }
  CK_FUNCTION_LIST& fn() const { return *fn_; }
  const std::string& path() const { return path_; }

 private:
  Module(std::string path, CK_FUNCTION_LIST_PTR fn, bool finalize)
      : path_(std::move(path)), fn_(fn), finalize_(finalize) {}
  std::string path_;
  CK_FUNCTION_LIST_PTR fn_;
  bool finalize_;
};

// An open session on a token, shared by the key and its signature operations.
struct Session {
  std::shared_ptr<Module> module;
  CK_SESSION_HANDLE handle = 0;
  std::string token;  // the token's label, for messages
  std::mutex mu;      // one operation at a time on a session (PKCS#11 2.40, 11.6)
  Session(std::shared_ptr<Module> m, CK_SESSION_HANDLE h, std::string label)
      : module(std::move(m)), handle(h), token(std::move(label)) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { module->fn().C_CloseSession(handle); }
  CK_FUNCTION_LIST& fn() const { return module->fn(); }
};

// A template of attributes whose values this object owns.
class Template {
 public:
  Template& bytes(CK_ATTRIBUTE_TYPE type, std::vector<uint8_t> value) {
    store_.push_back(std::move(value));
    auto& v = store_.back();
    attrs_.push_back({type, v.empty() ? nullptr : v.data(), v.size()});
    return *this;
  }
  Template& text(CK_ATTRIBUTE_TYPE type, const std::string& s) {
    return bytes(type, std::vector<uint8_t>(s.begin(), s.end()));
  }
  Template& flag(CK_ATTRIBUTE_TYPE type, bool on) {
    return bytes(type, {static_cast<uint8_t>(on ? CK_TRUE : CK_FALSE)});
  }
  Template& number(CK_ATTRIBUTE_TYPE type, CK_ULONG n) {
    std::vector<uint8_t> v(sizeof n);
    std::memcpy(v.data(), &n, sizeof n);
    return bytes(type, std::move(v));
  }
  CK_ATTRIBUTE* data() { return attrs_.data(); }
  CK_ULONG size() const { return attrs_.size(); }

 private:
  std::deque<std::vector<uint8_t>> store_;  // stable addresses
  std::vector<CK_ATTRIBUTE> attrs_;
};

std::string padded_text(const unsigned char* p, std::size_t n) {
  std::string s(reinterpret_cast<const char*>(p), n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0'))
    s.pop_back();
  return s;
}

std::string describe(const Pkcs11Uri& uri) {
  std::string what =
      !uri.object.empty() ? "'" + uri.object + "'" : "with id " + Botan::hex_encode(uri.id);
  std::string token = !uri.token.empty() ? "'" + uri.token + "'"
                      : !uri.serial.empty()
                          ? "with serial " + uri.serial
                          : "in slot " + std::to_string(uri.slot_id ? *uri.slot_id : 0);
  return "key " + what + " in token " + token;
}

struct FoundToken {
  CK_SLOT_ID slot = 0;
  CK_FLAGS flags = 0;
  std::string label;
};

Result<FoundToken> find_token(const Module& m, const Pkcs11Uri& uri) {
  CK_ULONG n = 0;
  if (CK_RV rv = m.fn().C_GetSlotList(CK_TRUE, nullptr, &n); rv != CKR_OK)
    return Error(ErrorKind::crypto, m.path(), "C_GetSlotList failed: " + rv_name(rv));
  std::vector<CK_SLOT_ID> slots(n);
  if (n > 0) {
    if (CK_RV rv = m.fn().C_GetSlotList(CK_TRUE, slots.data(), &n); rv != CKR_OK)
      return Error(ErrorKind::crypto, m.path(), "C_GetSlotList failed: " + rv_name(rv));
    slots.resize(n);
  }
  std::vector<FoundToken> matches;
  std::string present;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (m.fn().C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    FoundToken t{slot, info.flags, padded_text(info.label, sizeof info.label)};
    present += (present.empty() ? "'" : ", '") + t.label + "'";
    if (uri.slot_id && *uri.slot_id != slot) continue;
    if (!uri.token.empty() && uri.token != t.label) continue;
    if (!uri.serial.empty() && uri.serial != padded_text(info.serialNumber, 16)) continue;
    if (!uri.manufacturer.empty() &&
        uri.manufacturer != padded_text(info.manufacturerID, sizeof info.manufacturerID))
      continue;
    if (!uri.model.empty() && uri.model != padded_text(info.model, sizeof info.model)) continue;
    matches.push_back(t);
  }
  if (matches.empty())
    return Error(
        ErrorKind::unavailable, describe(uri),
        "the token is not present in " + m.path() +
            (present.empty() ? " (no initialised token is)" : " (present: " + present + ")"));
  if (matches.size() > 1)
    return Error(ErrorKind::invalid_input, describe(uri),
                 std::to_string(matches.size()) +
                     " tokens match the URI; add serial= or slot-id= to name one");
  return matches.front();
}

Result<std::optional<Passphrase>> read_pin(const Pkcs11Uri& uri) {
  if (!uri.pin_file.empty()) {
    if (auto st = check_private_file(uri.pin_file, "the PIN file (pin-source)"); !st)
      return st.error();
    auto pin = find_passphrase(std::filesystem::path(uri.pin_file), "");
    if (!pin) return Error(ErrorKind::passphrase, uri.pin_file, pin.error().message());
    return pin;
  }
  if (!uri.pin_env.empty()) {
    auto pin = find_passphrase(std::nullopt, uri.pin_env.c_str());
    if (!pin) return pin.error();
    if (!*pin)
      return Error(ErrorKind::passphrase, uri.pin_env,
                   "the environment variable that holds the token PIN (pin-source) is not set");
    return pin;
  }
  return std::optional<Passphrase>();
}

Status login(Session& s, const FoundToken& t, const Pkcs11Uri& uri) {
  if ((t.flags & CKF_LOGIN_REQUIRED) == 0) return Ok{};
  const std::string where = "token '" + t.label + "'";
  if (t.flags & CKF_USER_PIN_LOCKED)
    return Error(ErrorKind::passphrase, where,
                 "its user PIN is locked; the token's security officer must unlock it");
  if (t.flags & CKF_USER_PIN_FINAL_TRY)
    return Error(ErrorKind::passphrase, where,
                 "one more wrong PIN locks it, and pkiflow will not risk that try: check the PIN "
                 "in the pin-source and log in once with the HSM's own tool");
  if ((t.flags & CKF_USER_PIN_INITIALIZED) == 0)
    return Error(ErrorKind::invalid_input, where,
                 "it has no user PIN yet; set one with the HSM's tool (softhsm2-util "
                 "--init-token for SoftHSM2)");
  auto pin = read_pin(uri);
  if (!pin) return pin.error();
  CK_RV rv;
  if (!*pin) {
    if ((t.flags & CKF_PROTECTED_AUTHENTICATION_PATH) == 0)
      return Error(ErrorKind::passphrase, where,
                   "it needs a PIN: add pin-source=file:/path (a 0600 file) or "
                   "pin-source=env:NAME to the URI (never the PIN itself)");
    rv = s.fn().C_Login(s.handle, CKU_USER, nullptr, 0);  // the reader's own PIN pad
  } else {
    std::string value = (*pin)->reveal();
    rv = s.fn().C_Login(s.handle, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(value.data()),
                        value.size());
    Botan::secure_scrub_memory(value.data(), value.size());
  }
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return Ok{};
  const std::string source =
      !uri.pin_file.empty() ? "the file " + uri.pin_file : "the variable " + uri.pin_env;
  if (rv == CKR_PIN_INCORRECT)
    return Error(ErrorKind::passphrase, where,
                 "the PIN from " + source +
                     " is wrong. pkiflow tried it once and will not retry; the token counts "
                     "failed tries, so correct the PIN before the next run");
  if (rv == CKR_PIN_LOCKED)
    return Error(ErrorKind::passphrase, where,
                 "its user PIN is locked; the token's security officer must unlock it");
  return Error(token_gone(rv) ? ErrorKind::unavailable : ErrorKind::crypto, where,
               "C_Login failed: " + rv_name(rv));
}

Result<std::shared_ptr<Session>> open_session(const Pkcs11Uri& uri, bool read_write) {
  auto module = Module::get(uri.module_path);
  if (!module) return module.error();
  auto token = find_token(**module, uri);
  if (!token) return token.error();
  CK_SESSION_HANDLE h = 0;
  CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  if (CK_RV rv = (*module)->fn().C_OpenSession(token->slot, flags, nullptr, nullptr, &h);
      rv != CKR_OK)
    return Error(token_gone(rv) ? ErrorKind::unavailable : ErrorKind::crypto,
                 "token '" + token->label + "'", "C_OpenSession failed: " + rv_name(rv));
  auto session = std::make_shared<Session>(*module, h, token->label);
  if (auto st = login(*session, *token, uri); !st) return st.error();
  return session;
}

std::vector<CK_OBJECT_HANDLE> find_objects(Session& s, Template& t) {
  std::vector<CK_OBJECT_HANDLE> out;
  std::lock_guard lock(s.mu);
  if (s.fn().C_FindObjectsInit(s.handle, t.data(), t.size()) != CKR_OK) return out;
  CK_OBJECT_HANDLE batch[16];
  CK_ULONG n = 0;
  while (s.fn().C_FindObjects(s.handle, batch, 16, &n) == CKR_OK && n > 0)
    out.insert(out.end(), batch, batch + n);
  s.fn().C_FindObjectsFinal(s.handle);
  return out;
}

std::optional<std::vector<uint8_t>> attribute(Session& s, CK_OBJECT_HANDLE o,
                                              CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  std::lock_guard lock(s.mu);
  if (s.fn().C_GetAttributeValue(s.handle, o, &a, 1) != CKR_OK ||
      a.ulValueLen == ~CK_ULONG{0})  // CK_UNAVAILABLE_INFORMATION
    return std::nullopt;
  std::vector<uint8_t> v(a.ulValueLen);
  a.pValue = v.data();
  if (s.fn().C_GetAttributeValue(s.handle, o, &a, 1) != CKR_OK) return std::nullopt;
  v.resize(a.ulValueLen);
  return v;
}

std::optional<CK_ULONG> number_attribute(Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
  auto v = attribute(s, o, type);
  if (!v || v->size() != sizeof(CK_ULONG)) return std::nullopt;
  CK_ULONG n;
  std::memcpy(&n, v->data(), sizeof n);
  return n;
}

std::optional<bool> flag_attribute(Session& s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
  auto v = attribute(s, o, type);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0] != CK_FALSE;
}

// RFC 8017 9.2, note 1: the DER DigestInfo that precedes the hash in an EMSA-PKCS1-v1_5 block.
std::vector<uint8_t> digest_info(const std::string& hash) {
  const uint8_t last = hash == "SHA-256" ? 0x01 : hash == "SHA-384" ? 0x02 : 0x03;
  const uint8_t len = hash == "SHA-256" ? 0x20 : hash == "SHA-384" ? 0x30 : 0x40;
  return {0x30, static_cast<uint8_t>(len + 0x11),
          0x30, 0x0d,
          0x06, 0x09,
          0x60, 0x86,
          0x48, 0x01,
          0x65, 0x03,
          0x04, 0x02,
          last, 0x05,
          0x00, 0x04,
          len};
}

// The signature algorithm the token's signature is for (RFC 4055 and RFC 5758 OIDs).
Botan::AlgorithmIdentifier signature_algorithm(bool rsa, const std::string& hash) {
  const uint32_t n = hash == "SHA-256" ? 0 : hash == "SHA-384" ? 1 : 2;
  if (rsa)
    return Botan::AlgorithmIdentifier(Botan::OID{1, 2, 840, 113549, 1, 1, 11 + n},
                                      Botan::AlgorithmIdentifier::USE_NULL_PARAM);
  return Botan::AlgorithmIdentifier(Botan::OID{1, 2, 840, 10045, 4, 3, 2 + n},
                                    Botan::AlgorithmIdentifier::USE_EMPTY_PARAM);
}

class TokenSignature final : public Botan::PK_Ops::Signature {
 public:
  TokenSignature(std::shared_ptr<Session> s, CK_OBJECT_HANDLE key, bool rsa, std::string hash,
                 std::size_t length)
      : session_(std::move(s)),
        key_(key),
        rsa_(rsa),
        hash_name_(std::move(hash)),
        hash_(Botan::HashFunction::create_or_throw(hash_name_)),
        length_(length) {}

  void update(std::span<const uint8_t> input) override { hash_->update(input); }

  std::vector<uint8_t> sign(Botan::RandomNumberGenerator&) override {
    std::vector<uint8_t> input = rsa_ ? digest_info(hash_name_) : std::vector<uint8_t>();
    const auto digest = hash_->final_stdvec();
    input.insert(input.end(), digest.begin(), digest.end());
    CK_MECHANISM mech{rsa_ ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0};
    // Room for any signature (RSA up to 8192 bits): a buffer too small would leave the
    // operation active on the session (PKCS#11 2.40, 5.2).
    std::vector<uint8_t> out(std::max<std::size_t>(length_, 1024));
    CK_ULONG n = out.size();
    auto& s = *session_;
    std::lock_guard lock(s.mu);
    if (CK_RV rv = s.fn().C_SignInit(s.handle, &mech, key_); rv != CKR_OK)
      throw TokenError("token '" + s.token + "': C_SignInit (" +
                           (rsa_ ? "CKM_RSA_PKCS" : "CKM_ECDSA") + ") failed: " + rv_name(rv),
                       rv);
    if (CK_RV rv = s.fn().C_Sign(s.handle, input.data(), input.size(), out.data(), &n);
        rv != CKR_OK)
      throw TokenError("token '" + s.token + "': C_Sign failed: " + rv_name(rv), rv);
    if (n != length_)
      throw TokenError("token '" + s.token + "' returned a signature of " + std::to_string(n) +
                           " bytes, expected " + std::to_string(length_),
                       CKR_GENERAL_ERROR);
    out.resize(n);
    return out;
  }

  std::size_t signature_length() const override { return length_; }
  Botan::AlgorithmIdentifier algorithm_identifier() const override {
    return signature_algorithm(rsa_, hash_name_);
  }
  std::string hash_function() const override { return hash_name_; }

 private:
  std::shared_ptr<Session> session_;
  CK_OBJECT_HANDLE key_;
  bool rsa_;
  std::string hash_name_;
  std::unique_ptr<Botan::HashFunction> hash_;
  std::size_t length_;
};

// A Botan private key that signs in the token; everything public comes from its public half.
class TokenKey final : public Botan::Private_Key {
 public:
  TokenKey(std::unique_ptr<Botan::Public_Key> pub, std::shared_ptr<Session> s,
           CK_OBJECT_HANDLE handle)
      : pub_(std::move(pub)), session_(std::move(s)), handle_(handle) {}

  std::string algo_name() const override { return pub_->algo_name(); }
  std::size_t estimated_strength() const override { return pub_->estimated_strength(); }
  Botan::OID object_identifier() const override { return pub_->object_identifier(); }
  const Botan::BigInt& get_int_field(std::string_view field) const override {
    return pub_->get_int_field(field);
  }
  bool supports_operation(Botan::PublicKeyOperation op) const override {
    return op == Botan::PublicKeyOperation::Signature;
  }
  std::unique_ptr<Botan::Private_Key> generate_another(
      Botan::RandomNumberGenerator&) const override {
    throw Botan::Not_Implemented("a key in a PKCS#11 token cannot be generated by copy");
  }
  bool check_key(Botan::RandomNumberGenerator& rng, bool strong) const override {
    return pub_->check_key(rng, strong);
  }
  std::optional<std::size_t> _signature_element_size_for_DER_encoding() const override {
    return pub_->_signature_element_size_for_DER_encoding();
  }
  Botan::Signature_Format _default_x509_signature_format() const override {
    return pub_->_default_x509_signature_format();
  }
  std::size_t key_length() const override { return pub_->key_length(); }
  Botan::AlgorithmIdentifier algorithm_identifier() const override {
    return pub_->algorithm_identifier();
  }
  std::vector<uint8_t> raw_public_key_bits() const override { return pub_->raw_public_key_bits(); }
  std::vector<uint8_t> public_key_bits() const override { return pub_->public_key_bits(); }
  std::unique_ptr<Botan::PK_Ops::Verification> create_verification_op(
      std::string_view params, std::string_view provider) const override {
    return pub_->create_verification_op(params, provider);
  }
  std::unique_ptr<Botan::PK_Ops::Verification> create_x509_verification_op(
      const Botan::AlgorithmIdentifier& alg, std::string_view provider) const override {
    return pub_->create_x509_verification_op(alg, provider);
  }
  Botan::secure_vector<uint8_t> private_key_bits() const override {
    throw Botan::Not_Implemented("the key lives in a PKCS#11 token and never leaves it");
  }
  std::unique_ptr<Botan::Public_Key> public_key() const override {
    return Botan::X509::copy_key(*pub_);
  }

  // params: "PKCS1v15(SHA-256)" (or EMSA3 / EMSA_PKCS1) for RSA; "SHA-256" for ECDSA.
  std::unique_ptr<Botan::PK_Ops::Signature> create_signature_op(Botan::RandomNumberGenerator&,
                                                                std::string_view params,
                                                                std::string_view) const override {
    const bool rsa = pub_->algo_name() == "RSA";
    std::string hash(params);
    if (rsa) {
      const auto open = hash.find('(');
      const std::string scheme = hash.substr(0, open);
      if (open == std::string::npos || hash.back() != ')' ||
          (scheme != "PKCS1v15" && scheme != "EMSA3" && scheme != "EMSA_PKCS1"))
        throw Botan::Invalid_Argument("a token RSA key signs PKCS#1 v1.5 only, not " + hash);
      hash = hash.substr(open + 1, hash.size() - open - 2);
    }
    if (hash != "SHA-256" && hash != "SHA-384" && hash != "SHA-512")
      throw Botan::Invalid_Argument("a token key signs with SHA-256, SHA-384 or SHA-512, not " +
                                    std::string(params));
    const std::size_t length =
        rsa ? (pub_->key_length() + 7) / 8 : 2 * *pub_->_signature_element_size_for_DER_encoding();
    return std::make_unique<TokenSignature>(session_, handle_, rsa, hash, length);
  }

 private:
  std::unique_ptr<Botan::Public_Key> pub_;
  std::shared_ptr<Session> session_;
  CK_OBJECT_HANDLE handle_;
};

// The public half of a token key, from its public key object (same CKA_ID, else same label) or,
// for RSA, from the private object's public attributes.
Result<std::unique_ptr<Botan::Public_Key>> public_half(Session& s, CK_OBJECT_HANDLE priv,
                                                       CK_KEY_TYPE type, const std::string& where) {
  const auto id = attribute(s, priv, CKA_ID);
  const auto label = attribute(s, priv, CKA_LABEL);
  Template t;
  t.number(CKA_CLASS, CKO_PUBLIC_KEY);
  if (id && !id->empty())
    t.bytes(CKA_ID, *id);
  else if (label)
    t.bytes(CKA_LABEL, *label);
  const auto found = find_objects(s, t);
  if (found.size() > 1)
    return Error(ErrorKind::invalid_input, where,
                 std::to_string(found.size()) + " public key objects share its CKA_ID; keep one");
  try {
    if (type == CKK_RSA) {
      const CK_OBJECT_HANDLE from = found.empty() ? priv : found.front();
      const auto n = attribute(s, from, CKA_MODULUS);
      const auto e = attribute(s, from, CKA_PUBLIC_EXPONENT);
      if (!n || !e)
        return Error(ErrorKind::invalid_input, where,
                     "neither a public key object beside it nor the key itself gives the RSA "
                     "modulus and exponent");
      return std::unique_ptr<Botan::Public_Key>(std::make_unique<Botan::RSA_PublicKey>(
          Botan::BigInt::from_bytes(*n), Botan::BigInt::from_bytes(*e)));
    }
    if (found.empty())
      return Error(ErrorKind::invalid_input, where,
                   "no public key object beside the EC private key (same CKA_ID); an EC private "
                   "key in PKCS#11 does not hold its public point");
    const auto params = attribute(s, found.front(), CKA_EC_PARAMS);
    const auto point = attribute(s, found.front(), CKA_EC_POINT);
    if (!params || !point)
      return Error(ErrorKind::invalid_input, where,
                   "its public key object has no CKA_EC_PARAMS or CKA_EC_POINT");
    if (attribute(s, priv, CKA_EC_PARAMS) != params)
      return Error(ErrorKind::invalid_input, where,
                   "the public key object beside it (same CKA_ID) is on another curve: the two "
                   "do not belong together");
    const Botan::AlgorithmIdentifier alg(Botan::OID{1, 2, 840, 10045, 2, 1}, *params);
    const Botan::EC_Group group{std::span<const uint8_t>(*params)};
    const auto& curve = group.get_curve_oid();
    if (curve != Botan::OID::from_string("secp256r1") &&
        curve != Botan::OID::from_string("secp384r1"))
      return Error(ErrorKind::unsupported, where, "the key's curve is not P-256 or P-384");
    // PKCS#11 wraps the point in a DER OCTET STRING; some tokens give it bare.
    std::vector<uint8_t> bits = *point;
    if (bits.size() != 2 * group.get_p_bytes() + 1) {
      Botan::BER_Decoder(*point).decode(bits, Botan::ASN1_Type::OctetString).verify_end();
    }
    return std::unique_ptr<Botan::Public_Key>(std::make_unique<Botan::ECDSA_PublicKey>(alg, bits));
  } catch (const Botan::Exception& e) {
    return Error(ErrorKind::parse, where, std::string("its public key is malformed: ") + e.what());
  }
}

// Wraps a private key object; proves with one signature that the public half belongs to it.
Result<PrivateKey> token_key(const std::shared_ptr<Session>& s, CK_OBJECT_HANDLE priv,
                             const Pkcs11Uri& uri) {
  const std::string where = describe(uri);
  const auto type = number_attribute(*s, priv, CKA_KEY_TYPE);
  if (!type || (*type != CKK_RSA && *type != CKK_EC))
    return Error(ErrorKind::unsupported, where, "is neither an RSA nor an EC key");
  if (flag_attribute(*s, priv, CKA_SIGN) == false)
    return Error(ErrorKind::invalid_input, where, "may not sign (its CKA_SIGN is false)");
  auto pub = public_half(*s, priv, *type, where);
  if (!pub) return pub.error();
  auto impl = std::make_shared<PrivateKey::Impl>();
  impl->key = std::make_unique<TokenKey>(Botan::X509::copy_key(**pub), s, priv);
  impl->token_public = std::move(*pub);
  impl->token_uri = uri.to_string();
  try {
    const bool rsa = *type == CKK_RSA;
    const std::string padding = rsa ? "PKCS1v15(SHA-256)" : "SHA-256";
    auto rng = Rng::system();
    std::vector<uint8_t> challenge(32);
    botan(rng).randomize(challenge);
    Botan::PK_Signer signer(*impl->key, botan(rng), padding);
    const auto sig = signer.sign_message(challenge, botan(rng));
    Botan::PK_Verifier verifier(*impl->token_public, padding);
    if (!verifier.verify_message(challenge, sig))
      return Error(ErrorKind::invalid_input, where,
                   "its signature does not verify with the public key object beside it: the two "
                   "do not belong together");
  } catch (const Botan::Exception& e) {
    return Error(ErrorKind::crypto, where, std::string("test signature failed: ") + e.what());
  }
  return PrivateKey::decode_finish(std::move(impl));
}

std::vector<std::string> labels_of(Session& s, CK_OBJECT_CLASS cls) {
  Template t;
  t.number(CKA_CLASS, cls);
  std::vector<std::string> out;
  for (auto h : find_objects(s, t))
    if (auto l = attribute(s, h, CKA_LABEL)) out.emplace_back(l->begin(), l->end());
  return out;
}

Template& name_object(Template& t, const Pkcs11Uri& uri) {
  if (!uri.object.empty()) t.text(CKA_LABEL, uri.object);
  if (!uri.id.empty()) t.bytes(CKA_ID, uri.id);
  return t;
}

}  // namespace

Result<PrivateKey> PrivateKey::open_token(const Pkcs11Uri& uri) {
  if (!uri.type.empty() && uri.type != "private")
    return Error(ErrorKind::invalid_input, describe(uri),
                 "the URI says type=" + uri.type + "; a CA key is type=private (or no type)");
  auto s = open_session(uri, false);
  if (!s) return s.error();
  Template t;
  t.number(CKA_CLASS, CKO_PRIVATE_KEY);
  const auto found = find_objects(**s, name_object(t, uri));
  if (found.empty()) {
    std::string have;
    for (const auto& l : labels_of(**s, CKO_PRIVATE_KEY))
      have += (have.empty() ? "'" : ", '") + l + "'";
    return Error(ErrorKind::invalid_input, describe(uri),
                 "no such private key in the token" +
                     (have.empty() ? std::string(" (it holds none)") : " (it holds " + have + ")"));
  }
  if (found.size() > 1)
    return Error(ErrorKind::invalid_input, describe(uri),
                 std::to_string(found.size()) + " private keys match; add id= to name one");
  return token_key(*s, found.front(), uri);
}

Result<PrivateKey> PrivateKey::generate_in_token(const Pkcs11Uri& uri, KeyAlgorithm alg) {
  const std::string where = describe(uri);
  if (uri.object.empty())
    return Error(ErrorKind::invalid_input, where, "a new key needs a label: add object=LABEL");
  if (!uri.type.empty() && uri.type != "private")
    return Error(ErrorKind::invalid_input, where, "a new CA key is type=private (or no type)");
  auto s = open_session(uri, true);
  if (!s) return s.error();
  auto& session = **s;
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
    Template t;
    t.number(CKA_CLASS, cls);
    if (!find_objects(session, name_object(t, uri)).empty())
      return Error(ErrorKind::invalid_input, where,
                   "the token already holds an object with this label (or id); pkiflow neither "
                   "replaces nor shadows a key: choose another object=");
  }
  std::vector<uint8_t> id = uri.id;
  if (id.empty()) {
    auto rng = Rng::system();
    id.resize(16);
    botan(rng).randomize(id);
  }
  const bool rsa =
      alg == KeyAlgorithm::rsa2048 || alg == KeyAlgorithm::rsa3072 || alg == KeyAlgorithm::rsa4096;
  Template pub, priv;
  pub.number(CKA_CLASS, CKO_PUBLIC_KEY)
      .number(CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC)
      .flag(CKA_TOKEN, true)
      .flag(CKA_PRIVATE, false)
      .flag(CKA_VERIFY, true)
      .flag(CKA_ENCRYPT, false)
      .flag(CKA_WRAP, false)
      .text(CKA_LABEL, uri.object)
      .bytes(CKA_ID, id);
  if (rsa) {
    const CK_ULONG bits = alg == KeyAlgorithm::rsa2048   ? 2048
                          : alg == KeyAlgorithm::rsa3072 ? 3072
                                                         : 4096;
    pub.number(CKA_MODULUS_BITS, bits).bytes(CKA_PUBLIC_EXPONENT, {0x01, 0x00, 0x01});
  } else {
    const auto curve =
        Botan::OID::from_string(alg == KeyAlgorithm::p256 ? "secp256r1" : "secp384r1");
    pub.bytes(CKA_EC_PARAMS, curve.BER_encode());
  }
  priv.number(CKA_CLASS, CKO_PRIVATE_KEY)
      .number(CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC)
      .flag(CKA_TOKEN, true)
      .flag(CKA_PRIVATE, true)
      .flag(CKA_SENSITIVE, true)
      .flag(CKA_EXTRACTABLE, false)
      .flag(CKA_SIGN, true)
      .flag(CKA_DECRYPT, false)
      .flag(CKA_UNWRAP, false)
      .flag(CKA_DERIVE, false)
      .text(CKA_LABEL, uri.object)
      .bytes(CKA_ID, id);
  CK_MECHANISM mech{rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_OBJECT_HANDLE pub_h = 0, priv_h = 0;
  CK_RV rv;
  {
    std::lock_guard lock(session.mu);
    rv = session.fn().C_GenerateKeyPair(session.handle, &mech, pub.data(), pub.size(), priv.data(),
                                        priv.size(), &pub_h, &priv_h);
  }
  if (rv == CKR_MECHANISM_INVALID)
    return Error(ErrorKind::unsupported, where,
                 std::string("the token cannot generate ") + to_string(alg) + " keys (" +
                     (rsa ? "CKM_RSA_PKCS_KEY_PAIR_GEN" : "CKM_EC_KEY_PAIR_GEN") + ")");
  if (rv != CKR_OK)
    return Error(token_gone(rv) ? ErrorKind::unavailable : ErrorKind::crypto, where,
                 "C_GenerateKeyPair failed: " + rv_name(rv));
  // The token must have kept its promise: a key it would hand out is not a CA key.
  if (flag_attribute(session, priv_h, CKA_EXTRACTABLE) != false ||
      flag_attribute(session, priv_h, CKA_SENSITIVE) != true) {
    std::lock_guard lock(session.mu);
    session.fn().C_DestroyObject(session.handle, priv_h);
    session.fn().C_DestroyObject(session.handle, pub_h);
    return Error(ErrorKind::unsupported, where,
                 "the token made the key extractable or not sensitive against the request; the "
                 "pair pkiflow just made was destroyed");
  }
  return token_key(*s, priv_h, uri);
}

}  // namespace pkiflow::pki
