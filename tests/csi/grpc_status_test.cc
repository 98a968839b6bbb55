#include "driver/csi/grpc_status.h"

#include <gtest/gtest.h>

namespace snapvol::csi {
namespace {

using core::Code;

TEST(GrpcStatusTest, MapsEveryCodeTheSpecNeeds) {
  EXPECT_EQ(GrpcCode(Code::kOk), grpc::StatusCode::OK);
  EXPECT_EQ(GrpcCode(Code::kNotFound), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GrpcCode(Code::kAlreadyExists), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(GrpcCode(Code::kInvalidArgument), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GrpcCode(Code::kFailedPrecondition), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(GrpcCode(Code::kReadOnly), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(GrpcCode(Code::kResourceExhausted), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(GrpcCode(Code::kAborted), grpc::StatusCode::ABORTED);
  EXPECT_EQ(GrpcCode(Code::kUnavailable), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(GrpcCode(Code::kPermissionDenied), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GrpcCode(Code::kCorruption), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(GrpcCode(Code::kIOError), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(GrpcCode(Code::kInternal), grpc::StatusCode::INTERNAL);
}

TEST(GrpcStatusTest, KeepsTheMessage) {
  grpc::Status st = ToGrpc(core::Status::NotFound("volume 'x' in environment 'main' not found"));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "volume 'x' in environment 'main' not found");
  EXPECT_TRUE(ToGrpc(core::Status::Ok()).ok());
}

}  // namespace
}  // namespace snapvol::csi
