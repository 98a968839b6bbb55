#include "driver/csi/controller_service.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "driver/csi/grpc_status.h"
#include "driver/csi/log.h"
#include "driver/csi/snapshot_id.h"
#include "driver/csi/volume_attributes.h"
#include "driver/csi/volume_capability.h"
#include "driver/csi/volume_id.h"
#include "driver/store/object_codec.h"

namespace snapvol::csi {

using core::Result;
using core::Status;
namespace v1 = ::csi::v1;

namespace {

Attributes ToAttributes(const google::protobuf::Map<std::string, std::string>& m) {
  return Attributes(m.begin(), m.end());
}

grpc::Status Busy(const std::string& subject) {
  return grpc::Status(grpc::StatusCode::ABORTED,
                      subject + ": another operation on it is in progress; retry");
}

// The capacity a request asks for: required_bytes, else limit_bytes, else 0
// (unknown). snapvol volumes grow to the store's size; the number is
// recorded so repeated requests can be compared, not enforced.
Result<int64_t> RequestedCapacity(const v1::CreateVolumeRequest& r, const std::string& subject) {
  if (!r.has_capacity_range()) return int64_t{0};
  int64_t required = r.capacity_range().required_bytes();
  int64_t limit = r.capacity_range().limit_bytes();
  if (required < 0 || limit < 0) {
    return Status::InvalidArgument(subject + ": capacity_range must not be negative");
  }
  if (limit > 0 && required > limit) {
    return Status::InvalidArgument(subject + ": capacity_range required_bytes " +
                                   std::to_string(required) + " exceeds limit_bytes " +
                                   std::to_string(limit));
  }
  return required > 0 ? required : limit;
}

void FillSnapshot(const SnapshotRecord& r, v1::Snapshot* out) {
  out->set_snapshot_id(r.id);
  out->set_source_volume_id(r.source_volume_id);
  out->set_size_bytes(r.size_bytes);
  *out->mutable_creation_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(r.created_ns);
  out->set_ready_to_use(true);  // a pin is complete when it is recorded
}

}  // namespace

ControllerService::ControllerService(volume::Engine* engine, Registry* registry)
    : engine_(engine), registry_(registry) {}

grpc::Status ControllerService::CreateVolume(grpc::ServerContext*,
                                             const v1::CreateVolumeRequest* req,
                                             v1::CreateVolumeResponse* resp) {
  // Validate.
  if (req->name().empty()) return InvalidArgument("CreateVolume: name is required");
  const std::string subject = "volume '" + req->name() + "'";
  if (req->volume_capabilities().empty()) {
    return InvalidArgument(subject + ": volume_capabilities are required");
  }
  for (const auto& cap : req->volume_capabilities()) {
    Status st = ValidateCapability(cap, subject);
    if (!st.ok()) return ToGrpc(st);
    if (std::string why = UnsupportedReason(cap); !why.empty()) {
      return InvalidArgument(subject + ": " + why);
    }
  }
  auto capacity = RequestedCapacity(*req, subject);
  if (!capacity.ok()) return ToGrpc(capacity.status());
  auto params = ParseCreateParameters(ToAttributes(req->parameters()), subject);
  if (!params.ok()) return ToGrpc(params.status());
  if (req->has_volume_content_source()) {
    const auto& src = req->volume_content_source();
    if (src.has_snapshot() && src.snapshot().snapshot_id().empty()) {
      return InvalidArgument(subject + ": content source snapshot_id is empty");
    }
    if (src.has_volume() && src.volume().volume_id().empty()) {
      return InvalidArgument(subject + ": content source volume_id is empty");
    }
  }
  const VolumeId id{params->environment, VolumeNameForRequest(req->name())};

  // Lock.
  auto guard = volume_locks_.TryLock(id.ToString());
  if (!guard.held()) return Busy(subject);

  // Load.
  Source source;
  if (req->has_volume_content_source() &&
      req->volume_content_source().type_case() != v1::VolumeContentSource::TYPE_NOT_SET) {
    auto resolved = ResolveSource(req->volume_content_source());
    if (!resolved.ok()) return ToGrpc(resolved.status().Annotate(subject));
    source = std::move(resolved).value();
  }
  if (Status st = engine_->CreateEnvironment(id.environment);
      !st.ok() && !st.Is(core::Code::kAlreadyExists)) {
    return ToGrpc(st.Annotate(subject));
  }
  auto existing = engine_->GetVolume(id.environment, id.name);
  if (!existing.ok() && !existing.status().Is(core::Code::kNotFound)) {
    return ToGrpc(existing.status().Annotate(subject));
  }

  // Check: a repeat must ask for the same volume.
  store::VolumeRecord record;
  if (existing.ok()) {
    record = *existing;
    auto meta = registry_->GetVolumeMeta(record.id);
    if (!meta.ok()) return ToGrpc(meta.status().Annotate(subject));
    if (meta->has_value()) {
      const VolumeMeta& m = **meta;
      if (m.capacity_bytes != *capacity) {
        return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                            subject + " (" + id.ToString() + ") already exists with capacity " +
                                std::to_string(m.capacity_bytes) + " bytes, not " +
                                std::to_string(*capacity));
      }
      if (m.content_source != source.description) {
        return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                            subject + " (" + id.ToString() + ") already exists with content " +
                                "source '" + m.content_source + "', not '" + source.description +
                                "'");
      }
    } else if (!source.description.empty()) {
      // A volume made outside CSI (CLI, static) is adopted as it is, but
      // restoring a source into a volume that already has data is refused.
      auto head = engine_->Head(record);
      if (!head.ok()) return ToGrpc(head.status().Annotate(subject));
      if (head->version > 0) {
        return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                            subject + " (" + id.ToString() +
                                ") already exists with data; cannot restore '" +
                                source.description + "' into it");
      }
    }
  } else {
    // Act.
    volume::CreateVolumeOptions options;
    options.if_missing = true;  // a concurrent CLI create of the same name is fine
    if (params->inode_limit) options.inode_limit = *params->inode_limit;
    auto created = engine_->CreateVolume(id.environment, id.name, options);
    if (!created.ok()) return ToGrpc(created.status().Annotate(subject));
    record = *created;
    LOG_CSI(kInfo) << "created volume " << id.ToString() << " for " << subject;
  }
  auto meta = registry_->GetVolumeMeta(record.id);
  if (!meta.ok()) return ToGrpc(meta.status().Annotate(subject));
  if (!meta->has_value()) {
    VolumeMeta m{record.id,
                 req->name(),
                 *capacity,
                 source.description,
                 engine_->env()->NowNanos(),
                 params->commit_interval.value_or("")};
    if (Status st = registry_->PutVolumeMeta(m); !st.ok()) return ToGrpc(st.Annotate(subject));
  }
  // Restoring is repeated until it has landed: a call that failed between
  // creating the volume and committing the restored tree finishes it here.
  if (!source.description.empty()) {
    auto head = engine_->Head(record);
    if (!head.ok()) return ToGrpc(head.status().Annotate(subject));
    if (head->version == 0) {
      if (Status st = Restore(record, source); !st.ok()) return ToGrpc(st.Annotate(subject));
    }
  }
  if (Status st = Describe(record, resp->mutable_volume()); !st.ok()) {
    return ToGrpc(st.Annotate(subject));
  }
  if (!source.description.empty()) {
    *resp->mutable_volume()->mutable_content_source() = req->volume_content_source();
  }
  return grpc::Status::OK;
}

Result<ControllerService::Source> ControllerService::ResolveSource(
    const v1::VolumeContentSource& src) {
  Source out;
  if (src.has_snapshot()) {
    const std::string& sid = src.snapshot().snapshot_id();
    out.description = "snapshot:" + sid;
    ASSIGN_OR_RETURN(auto pinned, registry_->GetSnapshot(sid));
    if (pinned) {
      if (pinned->commit.IsZero()) return out;  // pinned the empty version 0
      ASSIGN_OR_RETURN(objects::Commit commit,
                       store::GetCommit(engine_->objects(), pinned->commit));
      out.root = commit.root();
      return out;
    }
    // A tag-less id names a version directly (static VolumeSnapshotContent).
    auto parsed = SnapshotId::Parse(sid);
    if (!parsed || !parsed->tag.empty()) {
      return Status::NotFound("source snapshot '" + sid + "' not found");
    }
    auto volume = engine_->GetVolume(parsed->volume.environment, parsed->volume.name);
    if (!volume.ok()) {
      if (volume.status().Is(core::Code::kNotFound)) {
        return Status::NotFound("source snapshot '" + sid +
                                "' not found: its volume does not exist");
      }
      return volume.status();
    }
    if (parsed->version == 0) return out;
    ASSIGN_OR_RETURN(volume::Snapshot snap, engine_->AtVersion(*volume, parsed->version));
    out.root = snap.root();
    return out;
  }
  const std::string& vid = src.volume().volume_id();
  out.description = "volume:" + vid;
  auto parsed = VolumeId::Parse(vid);
  if (!parsed) return Status::NotFound("source volume '" + vid + "' not found");
  auto volume = engine_->GetVolume(parsed->environment, parsed->name);
  if (!volume.ok()) {
    if (volume.status().Is(core::Code::kNotFound)) {
      return Status::NotFound("source volume '" + vid + "' not found");
    }
    return volume.status();
  }
  ASSIGN_OR_RETURN(volume::Snapshot head, engine_->Head(*volume));
  if (head.version > 0) out.root = head.root();
  return out;
}

Status ControllerService::Restore(const store::VolumeRecord& volume, const Source& source) {
  const objects::Entry& root = source.root;
  if (root.type() != objects::DIRECTORY) return Status::Ok();  // the empty volume
  // The source's root tree becomes version 1 as it is: content addressing
  // shares every page and chunk, so restoring is O(1) whatever the size.
  volume::CommitOptions options;
  options.author = volume::DefaultAuthor("csi");
  options.message = "restore from " + source.description;
  ASSIGN_OR_RETURN(volume::CommitResult result,
                   engine_->CommitRoot(volume, root, options, /*expected_head=*/0));
  LOG_CSI(kInfo) << "restored " << source.description << " into "
                 << volume::Engine::Describe(volume) << " as version " << result.version;
  return Status::Ok();
}

Status ControllerService::Describe(const store::VolumeRecord& record, v1::Volume* out) {
  out->set_volume_id(VolumeId{record.environment, record.name}.ToString());
  auto& ctx = *out->mutable_volume_context();
  ctx[kAttrEnvironment] = record.environment;
  ctx[kAttrName] = record.name;
  ASSIGN_OR_RETURN(auto meta, registry_->GetVolumeMeta(record.id));
  if (meta) {
    out->set_capacity_bytes(meta->capacity_bytes);
    if (!meta->commit_interval.empty()) ctx[kAttrCommitInterval] = meta->commit_interval;
  }
  return Status::Ok();
}

grpc::Status ControllerService::DeleteVolume(grpc::ServerContext*,
                                             const v1::DeleteVolumeRequest* req,
                                             v1::DeleteVolumeResponse*) {
  if (req->volume_id().empty()) return InvalidArgument("DeleteVolume: volume_id is required");
  const std::string subject = "volume '" + req->volume_id() + "'";
  auto id = VolumeId::Parse(req->volume_id());
  if (!id) {
    // Not an id this driver ever returned: nothing to delete (spec: ok).
    LOG_CSI(kInfo) << "DeleteVolume: " << subject << " is not a snapvol volume id; nothing to do";
    return grpc::Status::OK;
  }
  auto guard = volume_locks_.TryLock(id->ToString());
  if (!guard.held()) return Busy(subject);
  auto record = engine_->GetVolume(id->environment, id->name);
  if (!record.ok()) {
    if (record.status().Is(core::Code::kNotFound)) return grpc::Status::OK;
    return ToGrpc(record.status().Annotate(subject));
  }
  // Snapshots of the volume stay valid: they hold the pinned commit itself.
  Status st = engine_->DeleteVolume(id->environment, id->name);
  if (!st.ok() && !st.Is(core::Code::kNotFound)) return ToGrpc(st.Annotate(subject));
  if (Status m = registry_->DeleteVolumeMeta(record->id); !m.ok()) {
    return ToGrpc(m.Annotate(subject));
  }
  LOG_CSI(kInfo) << "deleted volume " << id->ToString();
  return grpc::Status::OK;
}

grpc::Status ControllerService::ValidateVolumeCapabilities(
    grpc::ServerContext*, const v1::ValidateVolumeCapabilitiesRequest* req,
    v1::ValidateVolumeCapabilitiesResponse* resp) {
  if (req->volume_id().empty()) {
    return InvalidArgument("ValidateVolumeCapabilities: volume_id is required");
  }
  const std::string subject = "volume '" + req->volume_id() + "'";
  if (req->volume_capabilities().empty()) {
    return InvalidArgument(subject + ": volume_capabilities are required");
  }
  for (const auto& cap : req->volume_capabilities()) {
    if (Status st = ValidateCapability(cap, subject); !st.ok()) return ToGrpc(st);
  }
  auto id = VolumeId::Parse(req->volume_id());
  if (!id) return NotFound(subject + " not found");
  auto record = engine_->GetVolume(id->environment, id->name);
  if (!record.ok()) return ToGrpc(record.status().Annotate(subject));
  for (const auto& cap : req->volume_capabilities()) {
    if (std::string why = UnsupportedReason(cap); !why.empty()) {
      resp->set_message(subject + ": " + why);
      return grpc::Status::OK;
    }
  }
  auto* confirmed = resp->mutable_confirmed();
  *confirmed->mutable_volume_context() = req->volume_context();
  *confirmed->mutable_volume_capabilities() = req->volume_capabilities();
  *confirmed->mutable_parameters() = req->parameters();
  return grpc::Status::OK;
}

grpc::Status ControllerService::ListVolumes(grpc::ServerContext*, const v1::ListVolumesRequest* req,
                                            v1::ListVolumesResponse* resp) {
  if (req->max_entries() < 0) return InvalidArgument("ListVolumes: max_entries must be >= 0");
  const std::string& after = req->starting_token();
  // The token is the id of the last volume returned; listing resumes after
  // it, so deleting that volume between pages does not invalidate it.
  if (!after.empty() && !VolumeId::Parse(after)) {
    return grpc::Status(grpc::StatusCode::ABORTED,
                        "ListVolumes: starting_token '" + after + "' was not issued by snapvol");
  }
  auto envs = engine_->ListEnvironments();
  if (!envs.ok()) return ToGrpc(envs.status().Annotate("ListVolumes"));
  std::vector<std::pair<std::string, store::VolumeRecord>> all;
  for (const auto& env : *envs) {
    auto vols = engine_->ListVolumes(env.name);
    if (!vols.ok()) {
      if (vols.status().Is(core::Code::kNotFound)) continue;  // deleted meanwhile
      return ToGrpc(vols.status().Annotate("ListVolumes"));
    }
    for (auto& v : *vols) {
      std::string vid = VolumeId{v.environment, v.name}.ToString();
      if (vid > after) all.emplace_back(std::move(vid), std::move(v));
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t limit = req->max_entries() > 0 ? static_cast<size_t>(req->max_entries()) : all.size();
  for (size_t i = 0; i < all.size() && i < limit; i++) {
    auto* entry = resp->add_entries();
    if (Status st = Describe(all[i].second, entry->mutable_volume()); !st.ok()) {
      return ToGrpc(st.Annotate("ListVolumes"));
    }
  }
  if (all.size() > limit) resp->set_next_token(all[limit - 1].first);
  return grpc::Status::OK;
}

grpc::Status ControllerService::ControllerGetVolume(grpc::ServerContext*,
                                                    const v1::ControllerGetVolumeRequest* req,
                                                    v1::ControllerGetVolumeResponse* resp) {
  if (req->volume_id().empty()) {
    return InvalidArgument("ControllerGetVolume: volume_id is required");
  }
  const std::string subject = "volume '" + req->volume_id() + "'";
  auto id = VolumeId::Parse(req->volume_id());
  if (!id) return NotFound(subject + " not found");
  auto record = engine_->GetVolume(id->environment, id->name);
  if (!record.ok()) return ToGrpc(record.status().Annotate(subject));
  if (Status st = Describe(*record, resp->mutable_volume()); !st.ok()) {
    return ToGrpc(st.Annotate(subject));
  }
  resp->mutable_status();
  return grpc::Status::OK;
}

grpc::Status ControllerService::ControllerGetCapabilities(
    grpc::ServerContext*, const v1::ControllerGetCapabilitiesRequest*,
    v1::ControllerGetCapabilitiesResponse* resp) {
  using Rpc = v1::ControllerServiceCapability::RPC;
  // No PUBLISH_UNPUBLISH_VOLUME: nothing needs attaching (CSIDriver
  // attachRequired: false). No EXPAND_VOLUME: capacity is not enforced.
  for (auto type :
       {Rpc::CREATE_DELETE_VOLUME, Rpc::LIST_VOLUMES, Rpc::CREATE_DELETE_SNAPSHOT,
        Rpc::LIST_SNAPSHOTS, Rpc::CLONE_VOLUME, Rpc::GET_VOLUME, Rpc::SINGLE_NODE_MULTI_WRITER}) {
    resp->add_capabilities()->mutable_rpc()->set_type(type);
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::CreateSnapshot(grpc::ServerContext*,
                                               const v1::CreateSnapshotRequest* req,
                                               v1::CreateSnapshotResponse* resp) {
  if (req->name().empty()) return InvalidArgument("CreateSnapshot: name is required");
  const std::string subject = "snapshot '" + req->name() + "'";
  if (req->source_volume_id().empty()) {
    return InvalidArgument(subject + ": source_volume_id is required");
  }
  auto guard = snapshot_locks_.TryLock(req->name());
  if (!guard.held()) return Busy(subject);

  auto existing = registry_->FindSnapshotByName(req->name());
  if (!existing.ok()) return ToGrpc(existing.status().Annotate(subject));
  if (existing->has_value()) {
    const SnapshotRecord& r = **existing;
    if (r.source_volume_id != req->source_volume_id()) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          subject + " already exists for volume '" + r.source_volume_id +
                              "', not '" + req->source_volume_id() + "'");
    }
    FillSnapshot(r, resp->mutable_snapshot());
    return grpc::Status::OK;
  }
  const std::string source_subject = subject + ": source volume '" + req->source_volume_id() + "'";
  auto id = VolumeId::Parse(req->source_volume_id());
  if (!id) return NotFound(source_subject + " not found");
  auto volume = engine_->GetVolume(id->environment, id->name);
  if (!volume.ok()) return ToGrpc(volume.status().Annotate(source_subject));
  auto head = engine_->Head(*volume);
  if (!head.ok()) return ToGrpc(head.status().Annotate(source_subject));

  SnapshotRecord r;
  r.id = SnapshotId{*id, head->version, SnapshotId::TagFor(req->name())}.ToString();
  r.request_name = req->name();
  r.source_volume_id = req->source_volume_id();
  r.source_volume_uid = volume->id;
  r.version = head->version;
  r.commit = head->commit_hash;
  r.size_bytes = static_cast<int64_t>(head->commit.bytes());
  r.created_ns = engine_->env()->NowNanos();
  if (Status st = registry_->CreateSnapshot(r); !st.ok()) return ToGrpc(st.Annotate(subject));
  LOG_CSI(kInfo) << "snapshot " << r.id << " pins version " << r.version << " of "
                 << id->ToString();
  FillSnapshot(r, resp->mutable_snapshot());
  return grpc::Status::OK;
}

grpc::Status ControllerService::DeleteSnapshot(grpc::ServerContext*,
                                               const v1::DeleteSnapshotRequest* req,
                                               v1::DeleteSnapshotResponse*) {
  if (req->snapshot_id().empty()) return InvalidArgument("DeleteSnapshot: snapshot_id is required");
  const std::string subject = "snapshot '" + req->snapshot_id() + "'";
  auto guard = snapshot_locks_.TryLock("id:" + req->snapshot_id());
  if (!guard.held()) return Busy(subject);
  // Unknown ids, and tag-less ids that pin nothing, are already deleted.
  if (Status st = registry_->DeleteSnapshot(req->snapshot_id()); !st.ok()) {
    return ToGrpc(st.Annotate(subject));
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::ListSnapshots(grpc::ServerContext*,
                                              const v1::ListSnapshotsRequest* req,
                                              v1::ListSnapshotsResponse* resp) {
  if (req->max_entries() < 0) return InvalidArgument("ListSnapshots: max_entries must be >= 0");
  const std::string& after = req->starting_token();
  if (!after.empty() && !SnapshotId::Parse(after)) {
    return grpc::Status(grpc::StatusCode::ABORTED,
                        "ListSnapshots: starting_token '" + after + "' was not issued by snapvol");
  }
  if (!req->snapshot_id().empty()) {
    auto r = registry_->GetSnapshot(req->snapshot_id());
    if (!r.ok()) return ToGrpc(r.status().Annotate("ListSnapshots"));
    if (r->has_value() &&
        (req->source_volume_id().empty() || (*r)->source_volume_id == req->source_volume_id())) {
      FillSnapshot(**r, resp->add_entries()->mutable_snapshot());
    }
    return grpc::Status::OK;
  }
  size_t max = static_cast<size_t>(req->max_entries());
  auto list = registry_->ListSnapshots(after, max == 0 ? 0 : max + 1, req->source_volume_id());
  if (!list.ok()) return ToGrpc(list.status().Annotate("ListSnapshots"));
  for (size_t i = 0; i < list->size() && (max == 0 || i < max); i++) {
    FillSnapshot((*list)[i], resp->add_entries()->mutable_snapshot());
  }
  if (max > 0 && list->size() > max) resp->set_next_token((*list)[max - 1].id);
  return grpc::Status::OK;
}

}  // namespace snapvol::csi
