// Status: the error value every module boundary returns. No exception crosses
// a layer; library exceptions are caught in the adapter that calls the library.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace snapvol::core {

enum class Code {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kFailedPrecondition,  // e.g. directory not empty, environment has volumes
  kResourceExhausted,   // inode limit, ENOSPC
  kCorruption,          // object hash mismatch, undecodable object
  kIOError,             // errno-carrying I/O failure
  kUnavailable,         // store unreachable; retryable
  kAborted,             // lost a compare-and-swap race; retryable
  kPermissionDenied,
  kReadOnly,  // write to a read-only mount / pinned version
  kInternal,
};

// Name of a code, e.g. "NotFound".
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, int sys_errno = 0)
      : code_(code), message_(std::move(message)), errno_(sys_errno) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {Code::kResourceExhausted, std::move(m)};
  }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  // Builds a Status from errno `e` (its code from CodeForErrno, errno_code.h),
  // appending strerror(e) to the context.
  static Status FromErrno(int e, std::string_view context);
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status ReadOnly(std::string m) { return {Code::kReadOnly, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno behind an I/O error, or 0.
  int sys_errno() const { return errno_; }
  bool Is(Code c) const { return code_ == c; }

  // "NotFound: volume 'x' in environment 'main' not found".
  std::string ToString() const;
  // Returns a copy with "context: " prepended to the message.
  Status Annotate(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  int errno_ = 0;
};

}  // namespace snapvol::core

#define SNAPVOL_CONCAT_INNER_(a, b) a##b
#define SNAPVOL_CONCAT_(a, b) SNAPVOL_CONCAT_INNER_(a, b)

// Returns from the current function if `expr` (a Status) is not ok.
#define RETURN_IF_ERROR(expr)             \
  do {                                    \
    ::snapvol::core::Status _st = (expr); \
    if (!_st.ok()) return _st;            \
  } while (0)

// ASSIGN_OR_RETURN(auto x, ResultExpr()): unwraps a Result or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(SNAPVOL_CONCAT_(_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
