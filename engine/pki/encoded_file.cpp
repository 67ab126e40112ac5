#include "engine/pki/encoded_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <botan/base64.h>
#include <botan/exceptn.h>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

namespace pkiflow::pki {

namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kDashes = "-----";

Error parse_error(std::string msg) {
  return Error(ErrorKind::parse, "", std::move(msg));
}

// Base64 body of a PEM block without RFC 1421 header lines ("Proc-Type: ...", "DEK-Info: ...").
struct PemBody {
  std::string base64;
  bool legacy_encrypted = false;
};

PemBody strip_headers(std::string_view body) {
  PemBody out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    if (line.find(':') != std::string_view::npos) {
      if (line.find("ENCRYPTED") != std::string_view::npos) out.legacy_encrypted = true;
    } else {
      out.base64.append(line);
    }
    pos = eol + 1;
  }
  return out;
}

}  // namespace

namespace {

// read_file_bytes and read_file_text: a regular file's size is known before its first byte is
// read, so the buffer is allocated once at that size (a 3 MB configuration grown by doubling
// paid for its pages three times over).
template <class Out>
Result<Out> read_whole(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    return Error(ErrorKind::io, path.string(), "cannot read: no such file");
  if (std::filesystem::is_directory(status))
    return Error(ErrorKind::io, path.string(), "is a directory, expected a file");
  const auto too_large = [&] {
    return Error(ErrorKind::io, path.string(),
                 "is larger than " + size_text(max_bytes) + "; refusing to read it");
  };
  std::uintmax_t expected = 0;
  if (std::filesystem::is_regular_file(status)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > max_bytes) return too_large();
    if (!ec) expected = size;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error(ErrorKind::io, path.string(), std::string("cannot open: ") + errno_text(errno));
  Out data;
  data.reserve(static_cast<std::size_t>(expected));
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.insert(data.end(), buf, buf + in.gcount());
    if (data.size() > max_bytes) return too_large();
  }
  if (in.bad()) return Error(ErrorKind::io, path.string(), "read error");
  return data;
}

}  // namespace

Result<Bytes> read_file_bytes(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  return read_whole<Bytes>(path, max_bytes);
}

Result<std::string> read_file_text(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  return read_whole<std::string>(path, max_bytes);
}

Result<std::vector<EncodedObject>> decode_objects(const Bytes& data) {
  std::vector<EncodedObject> out;
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  size_t pos = text.find(kBegin);
  if (pos == std::string_view::npos) {
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return out;  // empty or whitespace only
    if (static_cast<unsigned char>(text[0]) == 0x30 && data.size() >= 2) {
      out.push_back({"", data});
      return out;
    }
    return parse_error(
        "neither PEM (no \"-----BEGIN\" line) nor DER (does not start with an "
        "ASN.1 SEQUENCE)");
  }
  int block = 0;
  while (pos != std::string_view::npos) {
    ++block;
    size_t label_start = pos + kBegin.size();
    size_t label_end = text.find(kDashes, label_start);
    size_t eol = text.find('\n', label_start);
    if (label_end == std::string_view::npos || (eol != std::string_view::npos && label_end > eol))
      return parse_error("PEM block " + std::to_string(block) + ": malformed BEGIN line");
    std::string label(text.substr(label_start, label_end - label_start));
    std::string end_marker = "-----END " + label + "-----";
    size_t body_start = label_end + kDashes.size();
    size_t end = text.find(end_marker, body_start);
    if (end == std::string_view::npos)
      return parse_error("PEM block " + std::to_string(block) + " (" + label +
                         "): no matching END line (truncated?)");
    PemBody body = strip_headers(text.substr(body_start, end - body_start));
    if (body.legacy_encrypted)
      return Error(ErrorKind::unsupported, "",
                   "PEM block " + std::to_string(block) + " (" + label +
                       ") uses legacy OpenSSL encryption (Proc-Type: 4,ENCRYPTED); convert it "
                       "with `openssl pkcs8 -topk8 -v2 aes-256-cbc`");
    try {
      auto decoded = Botan::base64_decode(body.base64, true);
      if (decoded.empty())
        return parse_error("PEM block " + std::to_string(block) + " (" + label + ") is empty");
      out.push_back({label, Bytes(decoded.begin(), decoded.end())});
    } catch (const Botan::Exception&) {
      return parse_error("PEM block " + std::to_string(block) + " (" + label +
                         "): invalid base64 content");
    }
    pos = text.find(kBegin, end + end_marker.size());
  }
  return out;
}

Result<std::vector<EncodedObject>> read_objects(const std::filesystem::path& path) {
  auto bytes = read_file_bytes(path);
  if (!bytes) return bytes.error();
  auto objects = decode_objects(*bytes);
  if (!objects) return objects.error().about(path.string());
  return objects;
}

std::string base64_encode(const Bytes& data) {
  return Botan::base64_encode(data);
}

std::string pem_encode(const Bytes& der, const std::string& label) {
  std::string b64 = base64_encode(der);
  std::string out = "-----BEGIN " + label + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64)
    out += b64.substr(i, 64) + "\n";
  out += "-----END " + label + "-----\n";
  return out;
}

Status write_file_atomic(const std::filesystem::path& path, const std::string& content,
                         unsigned mode) {
  auto fail = [&](const char* what) {
    return Error(ErrorKind::io, path.string(), std::string(what) + ": " + errno_text(errno));
  };
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return fail("cannot create");
  // umask may have removed bits; set exactly the requested mode (never more).
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail("cannot set permissions");
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("write failed");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return fail("cannot flush");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail("cannot rename into place");
  }
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok{};
}

std::string percent_encode(std::string_view value, std::string_view also_plain) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        also_plain.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string size_text(std::uintmax_t bytes) {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
    return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Status check_private_file(const std::filesystem::path& path, const std::string& what,
                          bool check_mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return Error(ErrorKind::io, path.string(), what + ": " + errno_text(errno));
  if (S_ISLNK(st.st_mode))
    return Error(ErrorKind::invalid_input, path.string(),
                 what + " is a symbolic link; a secret must be a regular file of its own");
  if (!S_ISREG(st.st_mode))
    return Error(ErrorKind::invalid_input, path.string(), what + " is not a regular file");
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return Error(ErrorKind::invalid_input, path.string(),
                 what + " is owned by user " + std::to_string(st.st_uid) +
                     ", not by the user pkiflow runs as (" + std::to_string(::geteuid()) + ")");
  if (check_mode && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(ErrorKind::invalid_input, path.string(),
                 what + " has mode " + mode +
                     ": a secret must not be readable or writable by group or others (chmod 600 " +
                     path.string() + ")");
  }
  return Ok{};
}

}  // namespace pkiflow::pki
