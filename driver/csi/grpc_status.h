// The one place where a core::Status becomes a gRPC status (style rule 2).
// Every handler in driver/csi returns through ToGrpc or one of the helpers
// below, so the CSI error codes the spec requires are decided here.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "driver/core/status.h"

namespace snapvol::csi {

// Code mapping:
//   NotFound -> NOT_FOUND            AlreadyExists -> ALREADY_EXISTS
//   InvalidArgument -> INVALID_ARGUMENT
//   FailedPrecondition, ReadOnly -> FAILED_PRECONDITION
//   ResourceExhausted -> RESOURCE_EXHAUSTED   Aborted -> ABORTED
//   Unavailable -> UNAVAILABLE       PermissionDenied -> PERMISSION_DENIED
//   Corruption -> DATA_LOSS          IOError, Internal -> INTERNAL
// The message is the Status message (which names the volume).
grpc::Status ToGrpc(const core::Status& status);

// The gRPC code ToGrpc uses for `code`.
grpc::StatusCode GrpcCode(core::Code code);

// Shorthands for argument checks in handlers.
inline grpc::Status InvalidArgument(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}
inline grpc::Status NotFound(std::string message) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, std::move(message));
}

}  // namespace snapvol::csi
