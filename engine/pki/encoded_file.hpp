// Reading the files users hand us: one or many PEM blocks (with or without text around them)
// or a single DER object. Bounded in size so a huge or endless input is an error, not an OOM.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pki/result.hpp"

namespace pkiflow::pki {

using Bytes = std::vector<std::uint8_t>;

// Largest file pkiflow reads as a certificate, key, CSR, CRL or bundle. A GSA chain or a CBA
// .p7b is kilobytes; CRLs of big CAs can reach tens of megabytes.
inline constexpr std::uintmax_t kMaxInputFileBytes = std::uintmax_t{64} * 1024 * 1024;

// One decoded object: the PEM label ("CERTIFICATE", "PRIVATE KEY", ...) or "" for raw DER.
struct EncodedObject {
  std::string label;
  Bytes der;
};

// Reads a whole file, refusing directories, unreadable files and files over the limit: a
// regular file by its size before a byte is read, a pipe or device once it has given more.
Result<Bytes> read_file_bytes(const std::filesystem::path& path,
                              std::uintmax_t max_bytes = kMaxInputFileBytes);
// The same, as text (a configuration file).
Result<std::string> read_file_text(const std::filesystem::path& path,
                                   std::uintmax_t max_bytes = kMaxInputFileBytes);

// Splits bytes into objects. PEM is recognised by "-----BEGIN "; a malformed block (no END,
// bad base64) is an error naming the block. Bytes without any PEM block are returned as one
// DER object when they start like an ASN.1 SEQUENCE, else an error. Empty input gives an
// empty list (an empty bundle is not an error; callers decide whether they need one).
Result<std::vector<EncodedObject>> decode_objects(const Bytes& data);

// read_file_bytes + decode_objects with errors attributed to the file.
Result<std::vector<EncodedObject>> read_objects(const std::filesystem::path& path);

// PEM encoding with 64-column lines.
std::string pem_encode(const Bytes& der, const std::string& label);
std::string base64_encode(const Bytes& data);
// RFC 3986 percent-encoding: unreserved characters and those in `also_plain` stay as they are,
// every other byte becomes %XX (upper-case hex).
std::string percent_encode(std::string_view value, std::string_view also_plain = "");

// Writes a file atomically (temp file + rename) with the given mode, created with that mode
// from the start so a private key is never readable by others, not even for a moment.
// A file that holds a secret (a private key, a passphrase, a client secret) must be private to
// its owner before pkiflow reads it: a regular file (not a symlink), no group or other access,
// owned by this user or root. `what` names it in the error ("signers.issuing.key").
// check_mode = false checks all but the mode (what --allow-insecure-permissions lifts).
Status check_private_file(const std::filesystem::path& path, const std::string& what,
                          bool check_mode = true);

// "64 MiB", "64 KiB", "100 bytes": a size limit as an error message names it.
std::string size_text(std::uintmax_t bytes);

Status write_file_atomic(const std::filesystem::path& path, const std::string& content,
                         unsigned mode);

}  // namespace pkiflow::pki
