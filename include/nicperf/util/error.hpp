// Errors and exit codes: one list gives the enum, its name and its exit code.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace nicperf {

// X(name, exit code, text)
#define NICPERF_ERRORS(X)              \
  X(kUsage, 2, "usage")                \
  X(kConnect, 3, "connect")            \
  X(kRefused, 4, "refused")            \
  X(kProtocol, 5, "protocol")          \
  X(kTimeout, 6, "timeout")            \
  X(kTestFailed, 1, "test_failed")     \
  X(kSystem, 7, "system")              \
  X(kAccessDenied, 8, "access_denied") \
  X(kThreshold, 9, "threshold_missed") \
  X(kInterrupted, 130, "interrupted")

enum class Errc {
#define NICPERF_ENUM(name, code, text) name,
  NICPERF_ERRORS(NICPERF_ENUM)
#undef NICPERF_ENUM
};

int exit_code(Errc code);
const char* errc_name(Errc code);

struct Error {
  Errc code;
  std::string message;
};

// A value or an Error; setup code returns these instead of throwing.
template <class T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT
  explicit operator bool() const { return v_.index() == 0; }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Expected<Ok>;
inline Status ok() { return Ok{}; }

// A usage error (exit code 2): a bad option or argument.
Error usage(const std::string& what);

// "what failed: strerror(errno)"
std::string errno_text(const std::string& what, int err);

}  // namespace nicperf
