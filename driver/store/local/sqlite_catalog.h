// SqliteCatalog: the embedded Catalog, one SQLite database (catalog.db next
// to objects/ in a local store). Schema and its version are written down in
// docs/storage-format.md.
//
// Durability and sharing: WAL journal with synchronous=FULL, so a returned
// write (a landed version) survives power loss; every write runs in its own
// BEGIN IMMEDIATE transaction, so many processes (CLI, driver, mount
// servers) can share the file. A writer waits up to busy_timeout_ms for
// another process's transaction and then fails with Unavailable.
//
// SQLite results become Status once, here: BUSY/LOCKED → Unavailable, FULL →
// ResourceExhausted, CORRUPT/NOTADB → Corruption, READONLY → ReadOnly,
// IOERR/CANTOPEN → IOError, anything else → Internal. Messages name the
// catalog file and the environment/volume concerned.
//
// Volume ids: CreateVolume stores VolumeRecord.id as given; if it is empty
// the catalog generates a 128-bit random id (32 lowercase hex digits, see
// NewVolumeId). created_ns 0 is replaced by the Env's clock. Read the record
// back with GetVolume to learn the values used.
//
// Beyond catalog.h: AppendVersion returns NotFound if no volume has
// `volume_id` (deleted while a commit was in flight), so no orphan version
// rows can appear; SetInodeLimit/CreateVolume reject a limit of 0
// (InvalidArgument); RenameVolume to the same name is a no-op.
//
// Thread-safe: one connection, serialized by a mutex. SQLite's file I/O does
// not go through core::Env (it has its own VFS), so FaultEnv cannot inject
// faults into it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "driver/core/env.h"
#include "driver/store/catalog.h"

struct sqlite3;
struct sqlite3_stmt;

namespace snapvol::store {

struct SqliteCatalogOptions {
  // How long a write waits for another connection's transaction.
  int busy_timeout_ms = 30'000;
};

// A fresh 128-bit random volume id: 32 lowercase hex digits.
std::string NewVolumeId();

class SqliteCatalog : public Catalog {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if absent) the catalog at `path`; creates the schema and
  // the "main" environment on first open. FailedPrecondition if the file has
  // a newer schema version. `env` (clock only) must outlive the catalog.
  static Result<std::unique_ptr<SqliteCatalog>> Open(const std::string& path, core::Env* env,
                                                     SqliteCatalogOptions options = {});
  ~SqliteCatalog() override;

  SqliteCatalog(const SqliteCatalog&) = delete;
  SqliteCatalog& operator=(const SqliteCatalog&) = delete;

  Status CreateEnvironment(const std::string& name, int64_t now_ns) override;
  Result<std::vector<EnvironmentRecord>> ListEnvironments() override;
  Result<bool> EnvironmentExists(const std::string& name) override;
  Status DeleteEnvironment(const std::string& name) override;

  Status CreateVolume(const VolumeRecord& record) override;
  Result<VolumeRecord> GetVolume(const std::string& env, const std::string& name) override;
  Result<std::vector<VolumeRecord>> ListVolumes(const std::string& env) override;
  Status DeleteVolume(const std::string& env, const std::string& name) override;
  Status RenameVolume(const std::string& env, const std::string& from,
                      const std::string& to) override;
  Status SetInodeLimit(const std::string& env, const std::string& name, uint64_t limit) override;
  Status AddMount(const MountRecord& record) override;
  Status RemoveMount(const std::string& mount_id) override;
  Result<std::vector<MountRecord>> ListMounts(const std::string& volume_id) override;

  Result<bool> AppendVersion(const std::string& volume_id, const VersionRecord& record) override;
  Result<std::optional<VersionRecord>> LatestVersion(const std::string& volume_id) override;
  Result<VersionRecord> GetVersion(const std::string& volume_id, uint64_t version) override;
  Result<std::vector<VersionRecord>> ListVersions(const std::string& volume_id, uint64_t from,
                                                  uint64_t limit) override;

  const std::string& path() const { return path_; }

 private:
  class Query;
  class Transaction;

  SqliteCatalog(std::string path, core::Env* env, sqlite3* db);

  Status Init(int busy_timeout_ms);
  // A cached prepared statement for `sql` (a string literal: cached by address).
  Result<sqlite3_stmt*> Prepare(const char* sql);
  Status Exec(const char* sql);
  Status Error(int rc, std::string_view context) const;

  // Helpers run with mu_ held.
  Result<bool> EnvironmentExistsLocked(const std::string& name);
  Result<std::optional<std::string>> VolumeIdLocked(const std::string& env,
                                                    const std::string& name);
  Status EnvironmentNotFound(const std::string& name) const;
  Status VolumeNotFound(const std::string& env, const std::string& name) const;

  const std::string path_;
  core::Env* const env_;
  std::mutex mu_;  // guards db_ and stmts_: one statement at a time
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> stmts_;
};

}  // namespace snapvol::store
