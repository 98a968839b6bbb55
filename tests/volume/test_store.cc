#include "tests/volume/test_store.h"

#include <stdlib.h>

#include <filesystem>

namespace snapvol::volume::testing {

Status MemObjectStore::Put(const Hash& id, ObjectKind kind, std::string_view data) {
  if (Hash::Of(data) != id) return Status::InvalidArgument("object id does not match its data");
  std::lock_guard<std::mutex> l(mu_);
  objects_.try_emplace(id, kind, std::string(data));
  return Status::Ok();
}

Result<std::string> MemObjectStore::Get(const Hash& id, ObjectKind kind) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return Status::NotFound("object " + id.Hex() + " not found");
  if (Hash::Of(it->second.second) != id) {
    return Status::Corruption("object " + id.Hex() + " is corrupt");
  }
  return it->second.second;
}

Result<bool> MemObjectStore::Contains(const Hash& id, ObjectKind kind) {
  std::lock_guard<std::mutex> l(mu_);
  return objects_.count(id) > 0;
}

Status MemObjectStore::Delete(const Hash& id, ObjectKind kind) {
  std::lock_guard<std::mutex> l(mu_);
  if (objects_.erase(id) == 0) return Status::NotFound("object " + id.Hex() + " not found");
  return Status::Ok();
}

Status MemObjectStore::ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) {
  std::vector<Hash> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, obj] : objects_)
      if (obj.first == kind) ids.push_back(id);
  }
  for (const Hash& id : ids) RETURN_IF_ERROR(fn(id));
  return Status::Ok();
}

void MemObjectStore::Corrupt(const Hash& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(id);
  if (it != objects_.end() && !it->second.second.empty()) it->second.second[0] ^= 0x5a;
}

size_t MemObjectStore::Count(ObjectKind kind) {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [id, obj] : objects_) n += obj.first == kind ? 1 : 0;
  return n;
}

MemCatalog::MemCatalog() { envs_["main"] = store::EnvironmentRecord{"main", 1}; }

Status MemCatalog::CreateEnvironment(const std::string& name, int64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  if (envs_.count(name)) return Status::AlreadyExists("environment exists");
  envs_[name] = store::EnvironmentRecord{name, now_ns};
  return Status::Ok();
}

Result<std::vector<store::EnvironmentRecord>> MemCatalog::ListEnvironments() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<store::EnvironmentRecord> out;
  for (const auto& [n, r] : envs_) out.push_back(r);
  return out;
}

Result<bool> MemCatalog::EnvironmentExists(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  return envs_.count(name) > 0;
}

Status MemCatalog::DeleteEnvironment(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (!envs_.count(name)) return Status::NotFound("environment not found");
  if (name == "main") return Status::FailedPrecondition("main cannot be deleted");
  for (const auto& [key, r] : volumes_)
    if (key.first == name) return Status::FailedPrecondition("environment holds volumes");
  envs_.erase(name);
  return Status::Ok();
}

Status MemCatalog::CreateVolume(const store::VolumeRecord& record) {
  std::lock_guard<std::mutex> l(mu_);
  if (!envs_.count(record.environment)) return Status::NotFound("environment not found");
  auto key = std::make_pair(record.environment, record.name);
  if (volumes_.count(key)) return Status::AlreadyExists("volume exists");
  volumes_[key] = record;
  return Status::Ok();
}

Result<store::VolumeRecord> MemCatalog::GetVolume(const std::string& env, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = volumes_.find({env, name});
  if (it == volumes_.end()) return Status::NotFound("volume not found");
  return it->second;
}

Result<std::vector<store::VolumeRecord>> MemCatalog::ListVolumes(const std::string& env) {
  std::lock_guard<std::mutex> l(mu_);
  if (!envs_.count(env)) return Status::NotFound("environment not found");
  std::vector<store::VolumeRecord> out;
  for (const auto& [key, r] : volumes_)
    if (key.first == env) out.push_back(r);
  return out;
}

Status MemCatalog::DeleteVolume(const std::string& env, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = volumes_.find({env, name});
  if (it == volumes_.end()) return Status::NotFound("volume not found");
  versions_.erase(it->second.id);
  volumes_.erase(it);
  return Status::Ok();
}

Status MemCatalog::RenameVolume(const std::string& env, const std::string& from,
                                const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = volumes_.find({env, from});
  if (it == volumes_.end()) return Status::NotFound("volume not found");
  if (from == to) return Status::Ok();
  if (volumes_.count({env, to})) return Status::AlreadyExists("volume exists");
  store::VolumeRecord r = it->second;
  r.name = to;
  volumes_.erase(it);
  volumes_[{env, to}] = r;
  return Status::Ok();
}

Status MemCatalog::SetInodeLimit(const std::string& env, const std::string& name, uint64_t limit) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = volumes_.find({env, name});
  if (it == volumes_.end()) return Status::NotFound("volume not found");
  it->second.inode_limit = limit;
  return Status::Ok();
}

Result<bool> MemCatalog::AppendVersion(const std::string& volume_id,
                                       const store::VersionRecord& record) {
  std::lock_guard<std::mutex> l(mu_);
  bool known = false;
  for (const auto& [key, v] : volumes_) known = known || v.id == volume_id;
  if (!known) return Status::NotFound("no volume has id " + volume_id);
  auto& log = versions_[volume_id];
  if (record.version >= 1 && record.version <= log.size()) return false;
  if (record.version != log.size() + 1) {
    return Status::FailedPrecondition("version " + std::to_string(record.version) +
                                      " is not the next one");
  }
  log.push_back(record);
  return true;
}

Result<std::optional<store::VersionRecord>> MemCatalog::LatestVersion(
    const std::string& volume_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = versions_.find(volume_id);
  if (it == versions_.end() || it->second.empty()) return std::optional<store::VersionRecord>();
  return std::optional<store::VersionRecord>(it->second.back());
}

Result<store::VersionRecord> MemCatalog::GetVersion(const std::string& volume_id,
                                                    uint64_t version) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = versions_.find(volume_id);
  if (it == versions_.end() || version == 0 || version > it->second.size()) {
    return Status::NotFound("version not found");
  }
  return it->second[version - 1];
}

Result<std::vector<store::VersionRecord>> MemCatalog::ListVersions(const std::string& volume_id,
                                                                   uint64_t from, uint64_t limit) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<store::VersionRecord> out;
  auto it = versions_.find(volume_id);
  if (it == versions_.end()) return out;
  for (const auto& r : it->second) {
    if (r.version < from) continue;
    if (limit != 0 && out.size() >= limit) break;
    out.push_back(r);
  }
  return out;
}

Status HookedObjectStore::Put(const Hash& id, ObjectKind kind, std::string_view data) {
  if (before_put) RETURN_IF_ERROR(before_put(kind));
  ++puts[static_cast<int>(kind)];
  return target_->Put(id, kind, data);
}

Result<Hash> HookedObjectStore::PutContent(ObjectKind kind, std::string_view data) {
  if (before_put) RETURN_IF_ERROR(before_put(kind));
  ++put_contents[static_cast<int>(kind)];
  return target_->PutContent(kind, data);
}

Result<std::string> HookedObjectStore::Get(const Hash& id, ObjectKind kind) {
  ++gets;
  return target_->Get(id, kind);
}

Status HookedObjectStore::GetInto(const Hash& id, ObjectKind kind, store::ObjectBuffer* out) {
  ++gets;
  return target_->GetInto(id, kind, out);
}

Status HookedObjectStore::Flush() {
  if (before_flush) RETURN_IF_ERROR(before_flush());
  ++flushes;
  return target_->Flush();
}

void HookedObjectStore::ResetCounts() {
  for (auto& p : puts) p = 0;
  for (auto& p : put_contents) p = 0;
  gets = 0;
  flushes = 0;
}

Result<bool> HookedCatalog::AppendVersion(const std::string& id, const store::VersionRecord& r) {
  if (before_append) RETURN_IF_ERROR(before_append());
  ++appends;
  Result<bool> landed = t_->AppendVersion(id, r);
  if (landed.ok() && after_append) RETURN_IF_ERROR(after_append());
  return landed;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "snapvol-volume-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (p != nullptr) path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::string BackendName(Backend b) { return b == Backend::kMemory ? "Memory" : "Local"; }

Result<TestStore> OpenTestStore(Backend b) {
  TestStore t;
  if (b == Backend::kMemory) {
    t.store = std::make_unique<store::Store>();
    t.store->objects = std::make_unique<MemObjectStore>();
    t.store->catalog = std::make_unique<MemCatalog>();
    t.store->spec = "memory";
    return t;
  }
  t.dir = std::make_unique<TempDir>();
  if (t.dir->path().empty()) return Status::Internal("mkdtemp failed");
  ASSIGN_OR_RETURN(t.store, store::OpenStore(t.dir->path() + "/store", core::Env::Default()));
  return t;
}

Status MemCatalog::AddMount(const store::MountRecord& record) {
  std::lock_guard<std::mutex> l(mu_);
  mounts_[record.mount_id] = record;
  return Status::Ok();
}

Status MemCatalog::RemoveMount(const std::string& mount_id) {
  std::lock_guard<std::mutex> l(mu_);
  mounts_.erase(mount_id);
  return Status::Ok();
}

Result<std::vector<store::MountRecord>> MemCatalog::ListMounts(const std::string& volume_id) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<store::MountRecord> out;
  for (const auto& [id, r] : mounts_) {
    if (r.volume_id == volume_id) out.push_back(r);
  }
  return out;
}

}  // namespace snapvol::volume::testing
