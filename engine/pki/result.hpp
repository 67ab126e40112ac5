// Result<T>: expected failures as values (STYLE.md, 13). Exceptions are kept for broken
// preconditions; anything a user can cause (bad file, wrong passphrase) is an Error.
#pragma once

#include <cassert>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace pkiflow {

// The system's text for an errno value, from any thread (strerror's buffer is shared).
inline std::string errno_text(int error) {
  char buf[256];
  return ::strerror_r(error, buf, sizeof buf);  // GNU: returns the text, in buf or static
}

// Kinds of expected failure. The CLI maps each kind to an exit code (README, "Exit codes").
enum class ErrorKind {
  io,             // a file could not be read or written
  parse,          // bytes are not what they should be (not PEM/DER, not a certificate, ...)
  passphrase,     // missing or wrong passphrase for an encrypted private key
  unsupported,    // a well-formed object pkiflow does not handle (algorithm, format)
  invalid_input,  // a value given by the user is malformed (subject, time, profile name)
  crypto,         // a cryptographic operation failed (signature creation, ...)
  unavailable,    // a remote service could not be reached or asked to come back later: retry
  remote,         // a remote service refused the request (a 4xx): an operator must look
  not_sent,       // dry run: the request was recorded, nothing was sent
  auth,           // signing in to a remote service failed (secret, certificate, app)
  busy,           // another live run holds the record: try again when it has finished
};

const char* to_string(ErrorKind kind);

// An expected failure: a kind, a subject (file, field or certificate it concerns) and a message
// that says what is wrong. Never holds secrets.
class Error {
 public:
  Error(ErrorKind kind, std::string subject, std::string message)
      : kind_(kind), subject_(std::move(subject)), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& subject() const { return subject_; }
  const std::string& message() const { return message_; }
  // "subject: message", or the message alone when there is no subject.
  std::string what() const { return subject_.empty() ? message_ : subject_ + ": " + message_; }

  // The same error about another subject (e.g. a parse error of bytes, attributed to a file).
  Error about(std::string subject) const { return Error(kind_, std::move(subject), message_); }

 private:
  ErrorKind kind_;
  std::string subject_;
  std::string message_;
};

// Thrown by Result::value() on an error; carries the Error for boundaries that prefer throwing.
class ErrorException : public std::runtime_error {
 public:
  explicit ErrorException(Error e) : std::runtime_error(e.what()), error_(std::move(e)) {}
  const Error& error() const { return error_; }

 private:
  Error error_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    if (!ok()) throw ErrorException(std::get<1>(v_));
    return std::get<0>(v_);
  }
  const T& value() const& {
    if (!ok()) throw ErrorException(std::get<1>(v_));
    return std::get<0>(v_);
  }
  // By value, so `for (auto& x : *load())` does not dangle on the temporary Result.
  T value() && {
    if (!ok()) throw ErrorException(std::get<1>(v_));
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;

}  // namespace pkiflow
