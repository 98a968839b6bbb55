// Test doubles for the volume tests: an in-memory ObjectStore and Catalog
// (fast, inspectable, corruptible), wrappers that count or fail calls, and
// a factory that opens either the in-memory store or the real local backend
// (store::OpenStore) so engine tests run against both.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "driver/core/env.h"
#include "driver/store/catalog.h"
#include "driver/store/object_store.h"
#include "driver/store/store.h"

namespace snapvol::volume::testing {

using core::Hash;
using core::Result;
using core::Status;
using store::ObjectKind;

// Objects in a map. Verifies hashes on Put and Get like a real backend.
class MemObjectStore : public store::ObjectStore {
 public:
  Status Put(const Hash& id, ObjectKind kind, std::string_view data) override;
  Result<std::string> Get(const Hash& id, ObjectKind kind) override;
  Result<bool> Contains(const Hash& id, ObjectKind kind) override;
  Status Flush() override { return Status::Ok(); }
  Status Delete(const Hash& id, ObjectKind kind) override;
  Status ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) override;

  // Flips a byte of a stored object (it then fails verification).
  void Corrupt(const Hash& id);
  size_t Count(ObjectKind kind);

 private:
  std::mutex mu_;
  std::map<Hash, std::pair<ObjectKind, std::string>> objects_;
};

// Catalog in maps, with the semantics of catalog.h.
class MemCatalog : public store::Catalog {
 public:
  MemCatalog();
  Status CreateEnvironment(const std::string& name, int64_t now_ns) override;
  Result<std::vector<store::EnvironmentRecord>> ListEnvironments() override;
  Result<bool> EnvironmentExists(const std::string& name) override;
  Status DeleteEnvironment(const std::string& name) override;
  Status CreateVolume(const store::VolumeRecord& record) override;
  Result<store::VolumeRecord> GetVolume(const std::string& env, const std::string& name) override;
  Result<std::vector<store::VolumeRecord>> ListVolumes(const std::string& env) override;
  Status DeleteVolume(const std::string& env, const std::string& name) override;
  Status RenameVolume(const std::string& env, const std::string& from,
                      const std::string& to) override;
  Status SetInodeLimit(const std::string& env, const std::string& name, uint64_t limit) override;
  Result<bool> AppendVersion(const std::string& volume_id,
                             const store::VersionRecord& record) override;
  Result<std::optional<store::VersionRecord>> LatestVersion(const std::string& volume_id) override;
  Result<store::VersionRecord> GetVersion(const std::string& volume_id, uint64_t version) override;
  Result<std::vector<store::VersionRecord>> ListVersions(const std::string& volume_id,
                                                         uint64_t from, uint64_t limit) override;
  Status AddMount(const store::MountRecord& record) override;
  Status RemoveMount(const std::string& mount_id) override;
  Result<std::vector<store::MountRecord>> ListMounts(const std::string& volume_id) override;

 private:
  std::mutex mu_;
  std::map<std::string, store::MountRecord> mounts_;
  std::map<std::string, store::EnvironmentRecord> envs_;
  std::map<std::pair<std::string, std::string>, store::VolumeRecord> volumes_;
  std::map<std::string, std::vector<store::VersionRecord>> versions_;
};

// Forwards to a target store, counting calls; `before_put` / `before_flush`
// may fail a call (return non-ok) before it reaches the target.
class HookedObjectStore : public store::ObjectStore {
 public:
  explicit HookedObjectStore(store::ObjectStore* target) : target_(target) {}

  Status Put(const Hash& id, ObjectKind kind, std::string_view data) override;
  // Counted apart from Put (in put_contents), behind the same before_put hook.
  Result<Hash> PutContent(ObjectKind kind, std::string_view data) override;
  Result<std::string> Get(const Hash& id, ObjectKind kind) override;
  Status GetInto(const Hash& id, ObjectKind kind, store::ObjectBuffer* out) override;
  Result<bool> Contains(const Hash& id, ObjectKind kind) override {
    return target_->Contains(id, kind);
  }
  Status Flush() override;
  Status Delete(const Hash& id, ObjectKind kind) override { return target_->Delete(id, kind); }
  Status ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) override {
    return target_->ForEach(kind, fn);
  }

  std::function<Status(ObjectKind)> before_put;
  std::function<Status()> before_flush;
  std::atomic<int> puts[4] = {0, 0, 0, 0};          // by ObjectKind
  std::atomic<int> put_contents[4] = {0, 0, 0, 0};  // by ObjectKind
  std::atomic<int> gets{0};
  std::atomic<int> flushes{0};
  // Objects stored, by either call.
  int Puts(ObjectKind k) const {
    return puts[static_cast<int>(k)].load() + put_contents[static_cast<int>(k)].load();
  }
  void ResetCounts();

 private:
  store::ObjectStore* target_;
};

// Forwards to a target catalog; `before_append` may fail AppendVersion, and
// `after_append` may turn a landed append into a reported failure (a crash
// after the record was written).
class HookedCatalog : public store::Catalog {
 public:
  explicit HookedCatalog(store::Catalog* target) : t_(target) {}
  Status CreateEnvironment(const std::string& n, int64_t now) override {
    return t_->CreateEnvironment(n, now);
  }
  Result<std::vector<store::EnvironmentRecord>> ListEnvironments() override {
    return t_->ListEnvironments();
  }
  Result<bool> EnvironmentExists(const std::string& n) override { return t_->EnvironmentExists(n); }
  Status DeleteEnvironment(const std::string& n) override { return t_->DeleteEnvironment(n); }
  Status CreateVolume(const store::VolumeRecord& r) override { return t_->CreateVolume(r); }
  Result<store::VolumeRecord> GetVolume(const std::string& e, const std::string& n) override {
    return t_->GetVolume(e, n);
  }
  Result<std::vector<store::VolumeRecord>> ListVolumes(const std::string& e) override {
    return t_->ListVolumes(e);
  }
  Status DeleteVolume(const std::string& e, const std::string& n) override {
    return t_->DeleteVolume(e, n);
  }
  Status RenameVolume(const std::string& e, const std::string& f, const std::string& t) override {
    return t_->RenameVolume(e, f, t);
  }
  Status SetInodeLimit(const std::string& e, const std::string& n, uint64_t l) override {
    return t_->SetInodeLimit(e, n, l);
  }
  Result<bool> AppendVersion(const std::string& id, const store::VersionRecord& r) override;
  Result<std::optional<store::VersionRecord>> LatestVersion(const std::string& id) override {
    ++latest_calls;
    return t_->LatestVersion(id);
  }
  Result<store::VersionRecord> GetVersion(const std::string& id, uint64_t v) override {
    return t_->GetVersion(id, v);
  }
  Result<std::vector<store::VersionRecord>> ListVersions(const std::string& id, uint64_t from,
                                                         uint64_t limit) override {
    return t_->ListVersions(id, from, limit);
  }
  Status AddMount(const store::MountRecord& r) override { return t_->AddMount(r); }
  Status RemoveMount(const std::string& id) override { return t_->RemoveMount(id); }
  Result<std::vector<store::MountRecord>> ListMounts(const std::string& id) override {
    return t_->ListMounts(id);
  }

  std::function<Status()> before_append;
  std::function<Status()> after_append;
  std::atomic<int> appends{0};
  std::atomic<int> latest_calls{0};

 private:
  store::Catalog* t_;
};

// A Store whose object store and catalog are hooks around `target`'s.
struct HookedStore {
  explicit HookedStore(store::Store* target) {
    auto o = std::make_unique<HookedObjectStore>(target->objects.get());
    auto c = std::make_unique<HookedCatalog>(target->catalog.get());
    objects = o.get();
    catalog = c.get();
    store.objects = std::move(o);
    store.catalog = std::move(c);
    store.spec = target->spec;
  }
  HookedObjectStore* objects;  // owned by `store`
  HookedCatalog* catalog;      // owned by `store`
  store::Store store;
};

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

enum class Backend { kMemory, kLocal };
std::string BackendName(Backend b);

// A store of the given backend, plus whatever owns its storage.
struct TestStore {
  std::unique_ptr<TempDir> dir;  // kLocal only
  std::unique_ptr<store::Store> store;
};
Result<TestStore> OpenTestStore(Backend b);

}  // namespace snapvol::volume::testing
