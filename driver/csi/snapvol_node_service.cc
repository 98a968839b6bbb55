#include "driver/csi/snapvol_node_service.h"

#include "driver/csi/grpc_status.h"
#include "driver/csi/log.h"

namespace snapvol::csi {

namespace v1 = ::snapvol::v1;

namespace {

// Loads the publication at `target`: NOT_FOUND naming the path if none.
grpc::Status Load(PublishStore* published, const std::string& rpc, const std::string& target,
                  PublishRecord* out) {
  if (target.empty()) return InvalidArgument(rpc + ": target_path is required");
  auto record = published->Get(target);
  if (!record.ok()) return ToGrpc(record.status().Annotate(rpc + " " + target));
  if (!record->has_value()) {
    return NotFound(rpc + ": no snapvol volume is published at " + target);
  }
  *out = **record;
  return grpc::Status::OK;
}

std::string Subject(const PublishRecord& r) {
  return "volume '" + r.volume_id + "' at " + r.target_path;
}

}  // namespace

SnapvolNodeService::SnapvolNodeService(Mounter* mounter, PublishStore* published, KeyLock* locks)
    : mounter_(mounter), published_(published), locks_(locks) {}

grpc::Status SnapvolNodeService::Commit(grpc::ServerContext*, const v1::CommitRequest* req,
                                        v1::CommitResponse* resp) {
  PublishRecord r;
  if (auto st = Load(published_, "Commit", req->target_path(), &r); !st.ok()) return st;
  if (r.read_only) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        Subject(r) + " is read-only; nothing to commit");
  }
  auto guard = locks_->TryLock(r.target_path);
  if (!guard.held()) {
    return grpc::Status(grpc::StatusCode::ABORTED, Subject(r) + " is being (un)published; retry");
  }
  auto result = mounter_->Commit(r.target_path, req->message());
  if (!result.ok()) return ToGrpc(result.status().Annotate(Subject(r) + ": commit"));
  resp->set_version(result->version);
  resp->set_empty(result->empty);
  if (!result->empty) {
    LOG_CSI(kInfo) << Subject(r) << ": committed version " << result->version;
  }
  return grpc::Status::OK;
}

grpc::Status SnapvolNodeService::Reload(grpc::ServerContext*, const v1::ReloadRequest* req,
                                        v1::ReloadResponse* resp) {
  PublishRecord r;
  if (auto st = Load(published_, "Reload", req->target_path(), &r); !st.ok()) return st;
  if (r.version != 0) {
    return grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        Subject(r) + " is pinned to version " + std::to_string(r.version) + "; it does not reload");
  }
  auto guard = locks_->TryLock(r.target_path);
  if (!guard.held()) {
    return grpc::Status(grpc::StatusCode::ABORTED, Subject(r) + " is being (un)published; retry");
  }
  auto version = mounter_->Reload(r.target_path);
  if (!version.ok()) return ToGrpc(version.status().Annotate(Subject(r) + ": reload"));
  resp->set_version(*version);
  return grpc::Status::OK;
}

grpc::Status SnapvolNodeService::Status(grpc::ServerContext*, const v1::StatusRequest* req,
                                        v1::StatusResponse* resp) {
  PublishRecord r;
  if (auto st = Load(published_, "Status", req->target_path(), &r); !st.ok()) return st;
  resp->set_volume_id(r.volume_id);
  resp->set_environment(r.environment);
  resp->set_volume(r.volume);
  resp->set_target_path(r.target_path);
  resp->set_read_only(r.read_only);
  resp->set_ephemeral(r.ephemeral);
  auto state = mounter_->Inspect(r.target_path);
  if (!state.ok()) {
    resp->set_healthy(false);
    resp->set_message(state.status().ToString());
    return grpc::Status::OK;
  }
  resp->set_healthy(state->healthy);
  resp->set_message(state->message);
  resp->set_base_version(state->base_version);
  resp->set_pending_operations(state->pending_operations);
  resp->set_pid(state->pid);
  resp->set_commit_interval_ms(state->commit_interval_ms);
  return grpc::Status::OK;
}

}  // namespace snapvol::csi
