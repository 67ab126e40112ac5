#include "engine/pki/result.hpp"

namespace pkiflow {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::io:
      return "io";
    case ErrorKind::parse:
      return "parse";
    case ErrorKind::passphrase:
      return "passphrase";
    case ErrorKind::unsupported:
      return "unsupported";
    case ErrorKind::invalid_input:
      return "invalid-input";
    case ErrorKind::crypto:
      return "crypto";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::remote:
      return "remote";
    case ErrorKind::not_sent:
      return "not-sent";
    case ErrorKind::auth:
      return "auth";
    case ErrorKind::busy:
      return "busy";
  }
  return "unknown";
}

}  // namespace pkiflow
