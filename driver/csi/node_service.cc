#include "driver/csi/node_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>

#include "driver/csi/grpc_status.h"
#include "driver/csi/log.h"
#include "driver/csi/volume_attributes.h"
#include "driver/csi/volume_capability.h"
#include "driver/csi/volume_id.h"

namespace snapvol::csi {

using core::Result;
using core::Status;
namespace v1 = ::csi::v1;

namespace {

grpc::Status Busy(const std::string& subject) {
  return grpc::Status(grpc::StatusCode::ABORTED,
                      subject + ": another operation on this target path is in progress; retry");
}

// Creates the target directory (kubelet creates only its parent). Returns
// whether this call created it.
// A target kubelet would give: absolute, normalized (no "..", "." or
// repeated slashes), strictly below `kubelet_dir`, whose existing part
// resolves (symlinks followed) to below the resolved kubelet directory.
Status CheckTarget(const std::string& target, const std::string& kubelet_dir) {
  namespace fs = std::filesystem;
  const fs::path path(target);
  if (!path.is_absolute()) {
    return Status::InvalidArgument("target_path '" + target + "' is not absolute");
  }
  if (path.lexically_normal().string() != target || target.back() == '/') {
    return Status::InvalidArgument("target_path '" + target + "' is not a normalized path");
  }
  const fs::path root = fs::path(kubelet_dir).lexically_normal();
  const auto below = [](const fs::path& p, const fs::path& dir) {
    const std::string rel = p.lexically_relative(dir).string();
    return !rel.empty() && rel != "." && rel.rfind("..", 0) != 0;
  };
  if (!below(path, root)) {
    return Status::PermissionDenied("target_path '" + target +
                                    "' is outside the kubelet directory " + root.string() +
                                    " (--kubelet-dir)");
  }
  // The deepest existing ancestor must resolve inside the kubelet directory.
  std::error_code ec;
  fs::path existing = path;
  while (!fs::exists(fs::symlink_status(existing, ec)) && existing != existing.root_path()) {
    existing = existing.parent_path();
  }
  const fs::path real_root = fs::weakly_canonical(root, ec);
  const fs::path real = fs::weakly_canonical(existing, ec);
  if (ec || (real != real_root && !below(real, real_root))) {
    return Status::PermissionDenied("target_path '" + target +
                                    "' leads outside the kubelet directory " + root.string() +
                                    " through a symlink");
  }
  return Status::Ok();
}

Result<bool> MakeTarget(const std::string& path) {
  if (::mkdir(path.c_str(), 0750) == 0) return true;
  if (errno != EEXIST) return Status::FromErrno(errno, "create target path " + path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat target path " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("target path " + path + " exists and is not a directory");
  }
  return false;
}

// Removes the target directory; absent is fine.
Status RemoveTarget(const std::string& path) {
  if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return Status::Ok();
  return Status::FromErrno(errno, "remove target path " + path);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

NodeService::NodeService(volume::Engine* engine, Mounter* mounter, PublishStore* published,
                         NodeOptions options)
    : engine_(engine), mounter_(mounter), published_(published), options_(std::move(options)) {}

NodeService::~NodeService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (recover_thread_.joinable()) recover_thread_.join();
}

Status NodeService::Start() {
  RETURN_IF_ERROR(published_->Init());
  ASSIGN_OR_RETURN(auto records, published_->List());
  for (const auto& r : records) {
    auto state = mounter_->Inspect(r.target_path);
    if (state.ok() && state->healthy) {
      LOG_CSI(kInfo) << "found published volume " << r.volume_id << " at " << r.target_path
                     << " (mount server pid " << state->pid << ", version " << state->base_version
                     << ")";
    } else {
      LOG_CSI(kWarning) << "published volume " << r.volume_id << " at " << r.target_path
                        << " has no live mount server ("
                        << (state.ok() ? state->message : state.status().ToString())
                        << "); NodeUnpublishVolume will clean it up";
    }
  }
  if (Status st = mounter_->Recover(); !st.ok()) {
    LOG_CSI(kWarning) << "recovery of crashed mounts failed (retried later): " << st.ToString();
  }
  if (options_.recover_interval.count() > 0) {
    recover_thread_ = std::thread([this] { RecoverLoop(); });
  }
  return Status::Ok();
}

void NodeService::RecoverLoop() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, options_.recover_interval, [this] { return stopping_; })) {
    lock.unlock();
    if (Status st = mounter_->Recover(); !st.ok()) {
      LOG_CSI(kWarning) << "recovery of crashed mounts failed (retried later): " << st.ToString();
    }
    lock.lock();
  }
}

grpc::Status NodeService::NodePublishVolume(grpc::ServerContext*,
                                            const v1::NodePublishVolumeRequest* req,
                                            v1::NodePublishVolumeResponse*) {
  // Validate.
  if (req->volume_id().empty()) return InvalidArgument("NodePublishVolume: volume_id is required");
  const std::string subject = "volume '" + req->volume_id() + "'";
  if (req->target_path().empty()) return InvalidArgument(subject + ": target_path is required");
  if (Status st = CheckTarget(req->target_path(), options_.kubelet_dir); !st.ok()) {
    return ToGrpc(st.Annotate(subject));
  }
  if (!req->has_volume_capability()) {
    return InvalidArgument(subject + ": volume_capability is required");
  }
  const auto& cap = req->volume_capability();
  if (Status st = ValidateCapability(cap, subject); !st.ok()) return ToGrpc(st);
  if (std::string why = UnsupportedReason(cap); !why.empty()) {
    return InvalidArgument(subject + ": " + why);
  }
  auto attrs = ParsePublishAttributes(
      Attributes(req->volume_context().begin(), req->volume_context().end()), subject);
  if (!attrs.ok()) return ToGrpc(attrs.status());
  std::optional<uint32_t> mount_group;
  if (const std::string& g = cap.mount().volume_mount_group(); !g.empty()) {
    uint32_t gid = 0;
    auto [end, ec] = std::from_chars(g.data(), g.data() + g.size(), gid);
    if (ec != std::errc() || end != g.data() + g.size()) {
      return InvalidArgument(subject + ": volume_mount_group '" + g +
                             "' is not a numeric group id");
    }
    mount_group = gid;
  }
  VolumeId id;
  if (attrs->ephemeral) {
    id = VolumeId{attrs->environment, attrs->name};
    if (Status st = options_.tenancy.CheckInline(attrs->pod_namespace, id.environment,
                                                 attrs->create_if_missing);
        !st.ok()) {
      LOG_CSI(kWarning) << subject << ": refused: " << st.message();
      return ToGrpc(st.Annotate(subject));
    }
  } else {
    auto parsed = VolumeId::Parse(req->volume_id());
    if (!parsed) return NotFound(subject + " not found: not a snapvol volume id (ENV/NAME)");
    id = *parsed;
    if ((!attrs->name.empty() && attrs->name != id.name) ||
        (!attrs->environment.empty() && attrs->environment != id.environment)) {
      return InvalidArgument(subject + ": volume attributes name/environment (" +
                             attrs->environment + "/" + attrs->name +
                             ") disagree with the volume id");
    }
  }
  const bool read_only = req->readonly() || IsReadOnlyMode(cap.access_mode().mode()) ||
                         attrs->read_only || attrs->version.has_value();
  const std::string& target = req->target_path();

  // Lock.
  auto guard = target_locks_.TryLock(target);
  if (!guard.held()) return Busy(subject);

  // Load and check.
  auto existing = published_->Get(target);
  if (!existing.ok()) return ToGrpc(existing.status().Annotate(subject));
  if (existing->has_value()) {
    const PublishRecord& r = **existing;
    if (r.volume_id != req->volume_id() || r.read_only != read_only ||
        r.version != attrs->version.value_or(0)) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          subject + ": target path " + target + " already has volume '" +
                              r.volume_id + "' published" + (r.read_only ? " read-only" : "") +
                              " with different options");
    }
    auto state = mounter_->Inspect(target);
    if (state.ok() && state->healthy) return grpc::Status::OK;  // repeated call
    // The mount server died: take the dead mount down and mount again.
    LOG_CSI(kWarning) << subject << ": mount server at " << target << " is gone; publishing again";
    if (Status st = mounter_->Unmount(target); !st.ok() && !st.Is(core::Code::kNotFound)) {
      LOG_CSI(kWarning) << subject << ": cleaning up the dead mount: " << st.ToString();
    }
  }
  auto volume = engine_->GetVolume(id.environment, id.name);
  if (!volume.ok() && volume.status().Is(core::Code::kNotFound) && attrs->create_if_missing) {
    // A pod creates only its own namespace's environment; any other one an
    // admin creates (tenancy.h).
    if (!attrs->ephemeral ||
        TenancyPolicy::MayCreateEnvironment(attrs->pod_namespace, id.environment)) {
      if (Status st = engine_->CreateEnvironment(id.environment);
          !st.ok() && !st.Is(core::Code::kAlreadyExists)) {
        return ToGrpc(st.Annotate(subject));
      }
    }
    volume::CreateVolumeOptions options;
    options.if_missing = true;
    if (attrs->inode_limit) options.inode_limit = *attrs->inode_limit;
    volume = engine_->CreateVolume(id.environment, id.name, options);
    if (volume.ok()) LOG_CSI(kInfo) << "created volume " << id.ToString() << " (createIfMissing)";
  }
  if (!volume.ok()) return ToGrpc(volume.status().Annotate(subject));
  if (attrs->version) {
    auto snap = engine_->AtVersion(*volume, *attrs->version);
    if (!snap.ok()) return ToGrpc(snap.status().Annotate(subject));
  }

  // Act.
  auto created = MakeTarget(target);
  if (!created.ok()) return ToGrpc(created.status().Annotate(subject));
  PublishRecord record;
  record.volume_id = req->volume_id();
  record.target_path = target;
  record.environment = id.environment;
  record.volume = id.name;
  record.read_only = read_only;
  record.ephemeral = attrs->ephemeral;
  record.version = attrs->version.value_or(0);
  record.pod_namespace = attrs->pod_namespace;
  record.pod_name = attrs->pod_name;
  record.published_ns = engine_->env()->NowNanos();
  // The record goes first: a driver that dies right after starting the
  // mount server still finds the mount when it comes back.
  if (Status st = published_->Put(record); !st.ok()) {
    if (*created) (void)RemoveTarget(target);
    return ToGrpc(st.Annotate(subject));
  }
  MountSpec spec;
  spec.environment = id.environment;
  spec.volume = id.name;
  spec.target_path = target;
  spec.read_only = read_only;
  spec.version = attrs->version;
  spec.commit_interval = attrs->commit_interval;
  spec.mount_group = mount_group;
  spec.author = volume::DefaultAuthor("csi");
  spec.author.set_host(options_.node_id);
  spec.author.set_pod(attrs->pod_name);
  spec.author.set_pod_namespace(attrs->pod_namespace);
  if (Status st = mounter_->Mount(spec); !st.ok()) {
    (void)published_->Remove(target);
    if (*created) (void)RemoveTarget(target);
    return ToGrpc(st.Annotate(subject + ": mount at " + target));
  }
  LOG_CSI(kInfo) << "published " << id.ToString() << " at " << target
                 << (read_only ? " read-only" : "")
                 << (attrs->pod_name.empty()
                         ? ""
                         : " for pod " + attrs->pod_namespace + "/" + attrs->pod_name);
  return grpc::Status::OK;
}

grpc::Status NodeService::NodeUnpublishVolume(grpc::ServerContext*,
                                              const v1::NodeUnpublishVolumeRequest* req,
                                              v1::NodeUnpublishVolumeResponse*) {
  if (req->volume_id().empty()) {
    return InvalidArgument("NodeUnpublishVolume: volume_id is required");
  }
  const std::string subject = "volume '" + req->volume_id() + "'";
  if (req->target_path().empty()) return InvalidArgument(subject + ": target_path is required");
  const std::string& target = req->target_path();

  auto guard = target_locks_.TryLock(target);
  if (!guard.held()) return Busy(subject);

  auto record = published_->Get(target);
  if (!record.ok()) return ToGrpc(record.status().Annotate(subject));
  if (record->has_value() && (*record)->volume_id != req->volume_id()) {
    return NotFound(subject + " is not published at " + target + " (volume '" +
                    (*record)->volume_id + "' is)");
  }
  // Already unpublished (an earlier call cleaned up, perhaps reporting a
  // failed final commit that recovery now owns).
  if (!record->has_value() && !Exists(target)) return grpc::Status::OK;
  Status st = mounter_->Unmount(target);
  if (!st.ok() && !st.Is(core::Code::kNotFound)) {
    LOG_CSI(kError) << subject << ": unpublish from " << target << ": " << st.ToString();
    auto state = mounter_->Inspect(target);
    if (state.ok() && state->healthy) {
      // Still mounted and serving (e.g. busy): nothing was lost; retry.
      return ToGrpc(st.Annotate(subject + ": unpublish from " + target));
    }
    // The mount is down but its final commit failed (store down...): the
    // changes wait in the node's state directory and the periodic recovery
    // commits them. Clean up and say so once, so kubelet reports it on the
    // pod; its retry then finds nothing left to do.
    (void)RemoveTarget(target);
    (void)published_->Remove(target);
    return ToGrpc(st.Annotate(subject + ": final commit at " + target +
                              " failed; the changes are kept and committed by recovery"));
  }
  if (Status rm = RemoveTarget(target); !rm.ok()) return ToGrpc(rm.Annotate(subject));
  if (Status rm = published_->Remove(target); !rm.ok()) return ToGrpc(rm.Annotate(subject));
  if (record->has_value()) {
    LOG_CSI(kInfo) << "unpublished " << req->volume_id() << " from " << target;
  }
  return grpc::Status::OK;
}

grpc::Status NodeService::NodeGetVolumeStats(grpc::ServerContext*,
                                             const v1::NodeGetVolumeStatsRequest* req,
                                             v1::NodeGetVolumeStatsResponse* resp) {
  if (req->volume_id().empty()) return InvalidArgument("NodeGetVolumeStats: volume_id is required");
  const std::string subject = "volume '" + req->volume_id() + "'";
  if (req->volume_path().empty()) return InvalidArgument(subject + ": volume_path is required");
  auto record = published_->Get(req->volume_path());
  if (!record.ok()) return ToGrpc(record.status().Annotate(subject));
  if (!record->has_value() || (*record)->volume_id != req->volume_id()) {
    return NotFound(subject + " is not published at " + req->volume_path());
  }
  auto* condition = resp->mutable_volume_condition();
  auto state = mounter_->Inspect(req->volume_path());
  if (!state.ok() || !state->healthy) {
    condition->set_abnormal(true);
    condition->set_message(subject + ": the mount server at " + req->volume_path() + " is gone (" +
                           (state.ok() ? state->message : state.status().ToString()) +
                           "); committed data is safe and pending changes are recovered; "
                           "restart the pod to mount again");
    return grpc::Status::OK;
  }
  auto usage = mounter_->Usage(req->volume_path());
  if (!usage.ok()) {
    condition->set_abnormal(true);
    condition->set_message(subject + ": statfs of " + req->volume_path() +
                           " failed: " + usage.status().ToString());
    return grpc::Status::OK;
  }
  auto* bytes = resp->add_usage();
  bytes->set_unit(v1::VolumeUsage::BYTES);
  bytes->set_total(static_cast<int64_t>(usage->bytes_total));
  bytes->set_available(static_cast<int64_t>(usage->bytes_available));
  bytes->set_used(static_cast<int64_t>(usage->bytes_used));
  auto* inodes = resp->add_usage();
  inodes->set_unit(v1::VolumeUsage::INODES);
  inodes->set_total(static_cast<int64_t>(usage->inodes_total));
  inodes->set_available(static_cast<int64_t>(usage->inodes_free));
  inodes->set_used(static_cast<int64_t>(usage->inodes_used));
  condition->set_abnormal(false);
  condition->set_message("mount server healthy, version " + std::to_string(state->base_version));
  return grpc::Status::OK;
}

grpc::Status NodeService::NodeGetCapabilities(grpc::ServerContext*,
                                              const v1::NodeGetCapabilitiesRequest*,
                                              v1::NodeGetCapabilitiesResponse* resp) {
  using Rpc = v1::NodeServiceCapability::RPC;
  for (auto type : {Rpc::GET_VOLUME_STATS, Rpc::VOLUME_CONDITION, Rpc::SINGLE_NODE_MULTI_WRITER}) {
    resp->add_capabilities()->mutable_rpc()->set_type(type);
  }
  if (options_.mount_group) {
    resp->add_capabilities()->mutable_rpc()->set_type(Rpc::VOLUME_MOUNT_GROUP);
  }
  return grpc::Status::OK;
}

grpc::Status NodeService::NodeGetInfo(grpc::ServerContext*, const v1::NodeGetInfoRequest*,
                                      v1::NodeGetInfoResponse* resp) {
  resp->set_node_id(options_.node_id);
  resp->set_max_volumes_per_node(options_.max_volumes_per_node);
  return grpc::Status::OK;
}

}  // namespace snapvol::csi
