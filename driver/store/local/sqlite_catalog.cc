#include "driver/store/local/sqlite_catalog.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace snapvol::store {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS environments(
  name       TEXT PRIMARY KEY,
  created_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS volumes(
  env         TEXT NOT NULL,
  name        TEXT NOT NULL,
  id          TEXT NOT NULL UNIQUE,
  created_ns  INTEGER NOT NULL,
  inode_limit INTEGER NOT NULL,
  PRIMARY KEY(env, name)
);
CREATE TABLE IF NOT EXISTS versions(
  volume_id   TEXT NOT NULL,
  version     INTEGER NOT NULL,
  commit_hash BLOB NOT NULL,
  time_ns     INTEGER NOT NULL,
  PRIMARY KEY(volume_id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mounts(
  mount_id   TEXT PRIMARY KEY,
  volume_id  TEXT NOT NULL,
  host       TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  mountpoint BLOB NOT NULL,
  state_dir  BLOB NOT NULL,
  created_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mounts_by_volume ON mounts(volume_id);
)sql";

std::string QuoteName(const std::string& s) { return "'" + s + "'"; }

}  // namespace

std::string NewVolumeId() {
  unsigned char raw[16];
  size_t done = 0;
  while (done < sizeof(raw)) {
    ssize_t n = ::getrandom(raw + done, sizeof(raw) - done, 0);
    if (n > 0) done += static_cast<size_t>(n);
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

// One use of a cached prepared statement: binds, steps, reads columns, and
// resets the statement when it goes out of scope.
class SqliteCatalog::Query {
 public:
  Query(const SqliteCatalog* catalog, sqlite3_stmt* stmt) : catalog_(catalog), stmt_(stmt) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Text(int i, std::string_view v) {
    Note(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Query& Int(int i, int64_t v) {
    Note(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Query& Blob(int i, std::string_view v) {
    Note(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }

  // True with a row to read, false when done.
  Result<bool> Step(std::string_view context) {
    if (bind_rc_ != SQLITE_OK) return catalog_->Error(bind_rc_, context);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return catalog_->Error(rc, context);
  }
  // Runs a statement that returns no rows.
  Status Run(std::string_view context) {
    auto r = Step(context);
    return r.ok() ? Status::Ok() : r.status();
  }

  int64_t IntColumn(int c) const { return sqlite3_column_int64(stmt_, c); }
  std::string TextColumn(int c) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
  }
  std::string BlobColumn(int c) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
  }

 private:
  void Note(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  const SqliteCatalog* catalog_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back if destroyed before Commit().
// IMMEDIATE takes the write lock up front, so a transaction never has to
// upgrade a read lock (which could fail with BUSY without waiting).
class SqliteCatalog::Transaction {
 public:
  explicit Transaction(SqliteCatalog* catalog) : catalog_(catalog) {}
  ~Transaction() {
    if (begun_ && !committed_) (void)catalog_->Exec("ROLLBACK");
  }
  Status Begin() {
    RETURN_IF_ERROR(catalog_->Exec("BEGIN IMMEDIATE"));
    begun_ = true;
    return Status::Ok();
  }
  Status Commit() {
    RETURN_IF_ERROR(catalog_->Exec("COMMIT"));
    committed_ = true;
    return Status::Ok();
  }

 private:
  SqliteCatalog* catalog_;
  bool begun_ = false;
  bool committed_ = false;
};

SqliteCatalog::SqliteCatalog(std::string path, core::Env* env, sqlite3* db)
    : path_(std::move(path)), env_(env), db_(db) {}

SqliteCatalog::~SqliteCatalog() {
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteCatalog::Error(int rc, std::string_view context) const {
  std::string msg = "catalog " + path_ + ": " + std::string(context) + ": " +
                    (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg + " (another process held the catalog too long)");
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return Status::ResourceExhausted(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg);
    case SQLITE_READONLY:
      return Status::ReadOnly(msg);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::PermissionDenied(msg);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Status(core::Code::kIOError, msg);
    default:
      return Status::Internal(msg);
  }
}

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::Open(const std::string& path, core::Env* env,
                                                           SqliteCatalogOptions options) {
  // SQLite creates the file (and its -wal and -shm, which copy its mode)
  // with the umask's mode; the catalog names every volume: owner-only.
  // O_EXCL: never open (and close) an existing database file here: closing
  // any descriptor of it drops every POSIX lock this process's other SQLite
  // connections hold on it.
  if (int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0) {
    ::close(fd);
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteCatalog> catalog(new SqliteCatalog(path, env, db));
  if (rc != SQLITE_OK) return catalog->Error(rc, "open");
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  RETURN_IF_ERROR(catalog->Init(options.busy_timeout_ms));
  return catalog;
}

Status SqliteCatalog::Init(int busy_timeout_ms) {
  {
    // Persistent in the file; a no-op after the first open. Switching needs
    // an exclusive lock, and processes opening a new store switch at once.
    // SQLite skips the busy handler where waiting could deadlock (this
    // statement upgrades the read lock it took to look at the header) and
    // returns SQLITE_BUSY at once: 13 failures in 300 runs of
    // ConcurrentCreateOfOneVolumeNameHasOneWinner. Re-running the statement
    // (its locks dropped by the reset) is the wait SQLite left to us; it
    // ends because the switch happens once: a re-run finds WAL set.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("PRAGMA journal_mode=WAL"));
    Query q(this, stmt);
    Result<bool> stepped = q.Step("enable WAL");
    while (!stepped.ok() && stepped.status().Is(core::Code::kUnavailable) &&
           std::chrono::steady_clock::now() < deadline) {
      sqlite3_reset(stmt);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      stepped = q.Step("enable WAL");
    }
    ASSIGN_OR_RETURN(bool row, std::move(stepped));
    std::string mode = row ? q.TextColumn(0) : "";
    if (mode != "wal") {
      return Status(core::Code::kIOError,
                    "catalog " + path_ + ": cannot enable WAL journal (mode is '" + mode + "')");
    }
  }
  RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));

  auto read_version = [this]() -> Result<std::string> {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                     Prepare("SELECT value FROM meta WHERE key='schema_version'"));
    Query q(this, stmt);
    ASSIGN_OR_RETURN(bool row, q.Step("read schema version"));
    return row ? q.TextColumn(0) : std::string();
  };
  bool have_meta = false;
  {
    ASSIGN_OR_RETURN(
        sqlite3_stmt * stmt,
        Prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'"));
    Query q(this, stmt);
    ASSIGN_OR_RETURN(bool row, q.Step("inspect schema"));
    have_meta = row && q.IntColumn(0) > 0;
  }
  std::string version;
  if (have_meta) {
    ASSIGN_OR_RETURN(version, read_version());
  }
  if (version.empty()) {
    // First open (possibly by many processes at once): the IMMEDIATE
    // transaction serializes them and every statement is idempotent.
    Transaction txn(this);
    RETURN_IF_ERROR(txn.Begin());
    char* err = nullptr;
    int rc = sqlite3_exec(db_, kSchema, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return Error(rc, "create schema");
    {
      ASSIGN_OR_RETURN(
          sqlite3_stmt * stmt,
          Prepare("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?1)"));
      RETURN_IF_ERROR(
          Query(this, stmt).Text(1, std::to_string(kSchemaVersion)).Run("write schema version"));
    }
    {
      ASSIGN_OR_RETURN(
          sqlite3_stmt * stmt,
          Prepare("INSERT OR IGNORE INTO environments(name, created_ns) VALUES(?1, ?2)"));
      RETURN_IF_ERROR(Query(this, stmt)
                          .Text(1, kDefaultEnvironment)
                          .Int(2, env_->NowNanos())
                          .Run("create environment 'main'"));
    }
    RETURN_IF_ERROR(txn.Commit());
    ASSIGN_OR_RETURN(version, read_version());
  }
  if (version != std::to_string(kSchemaVersion)) {
    return Status::FailedPrecondition("catalog " + path_ + " has schema version '" + version +
                                      "', but this snapvol only understands version " +
                                      std::to_string(kSchemaVersion));
  }
  return Status::Ok();
}

Result<sqlite3_stmt*> SqliteCatalog::Prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, std::string("prepare '") + sql + "'");
  stmts_.emplace(sql, stmt);
  return stmt;
}

Status SqliteCatalog::Exec(const char* sql) {
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
  return Query(this, stmt).Run(sql);
}

Status SqliteCatalog::EnvironmentNotFound(const std::string& name) const {
  return Status::NotFound("environment " + QuoteName(name) + " not found");
}

Status SqliteCatalog::VolumeNotFound(const std::string& env, const std::string& name) const {
  return Status::NotFound("volume " + QuoteName(name) + " not found in environment " +
                          QuoteName(env));
}

Result<bool> SqliteCatalog::EnvironmentExistsLocked(const std::string& name) {
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("SELECT 1 FROM environments WHERE name=?1"));
  Query q(this, stmt);
  return q.Text(1, name).Step("look up environment " + QuoteName(name));
}

Result<std::optional<std::string>> SqliteCatalog::VolumeIdLocked(const std::string& env,
                                                                 const std::string& name) {
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("SELECT id FROM volumes WHERE env=?1 AND name=?2"));
  Query q(this, stmt);
  ASSIGN_OR_RETURN(bool row,
                   q.Text(1, env).Text(2, name).Step("look up volume " + QuoteName(name) +
                                                     " in environment " + QuoteName(env)));
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.TextColumn(0));
}

// ---- Environments -------------------------------------------------------

Status SqliteCatalog::CreateEnvironment(const std::string& name, int64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  Transaction txn(this);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(bool exists, EnvironmentExistsLocked(name));
  if (exists) return Status::AlreadyExists("environment " + QuoteName(name) + " already exists");
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("INSERT INTO environments(name, created_ns) VALUES(?1, ?2)"));
  RETURN_IF_ERROR(
      Query(this, stmt).Text(1, name).Int(2, now_ns).Run("create environment " + QuoteName(name)));
  return txn.Commit();
}

Result<std::vector<EnvironmentRecord>> SqliteCatalog::ListEnvironments() {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("SELECT name, created_ns FROM environments ORDER BY name"));
  Query q(this, stmt);
  std::vector<EnvironmentRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step("list environments"));
    if (!row) break;
    out.push_back({q.TextColumn(0), q.IntColumn(1)});
  }
  return out;
}

Result<bool> SqliteCatalog::EnvironmentExists(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  return EnvironmentExistsLocked(name);
}

Status SqliteCatalog::DeleteEnvironment(const std::string& name) {
  if (name == kDefaultEnvironment) {
    return Status::FailedPrecondition("environment 'main' is the default environment and " +
                                      std::string("cannot be deleted"));
  }
  std::lock_guard<std::mutex> l(mu_);
  Transaction txn(this);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(bool exists, EnvironmentExistsLocked(name));
  if (!exists) return EnvironmentNotFound(name);
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("SELECT count(*) FROM volumes WHERE env=?1"));
    Query q(this, stmt);
    ASSIGN_OR_RETURN(bool row, q.Text(1, name).Step("count volumes of " + QuoteName(name)));
    int64_t n = row ? q.IntColumn(0) : 0;
    if (n > 0) {
      return Status::FailedPrecondition("environment " + QuoteName(name) + " still holds " +
                                        std::to_string(n) + " volume(s); delete them first");
    }
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("DELETE FROM environments WHERE name=?1"));
  RETURN_IF_ERROR(Query(this, stmt).Text(1, name).Run("delete environment " + QuoteName(name)));
  return txn.Commit();
}

// ---- Volumes --------------------------------------------------------------

Status SqliteCatalog::CreateVolume(const VolumeRecord& record) {
  const std::string& env = record.environment;
  std::string what = "volume " + QuoteName(record.name) + " in environment " + QuoteName(env);
  if (record.inode_limit == 0) {
    return Status::InvalidArgument("cannot create " + what + ": inode limit must be positive");
  }
  std::string id = record.id.empty() ? NewVolumeId() : record.id;
  int64_t created = record.created_ns != 0 ? record.created_ns : env_->NowNanos();

  std::lock_guard<std::mutex> l(mu_);
  Transaction txn(this);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(bool env_exists, EnvironmentExistsLocked(env));
  if (!env_exists) return EnvironmentNotFound(env).Annotate("cannot create " + what);
  ASSIGN_OR_RETURN(auto existing, VolumeIdLocked(env, record.name));
  if (existing.has_value()) return Status::AlreadyExists(what + " already exists");
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("SELECT env, name FROM volumes WHERE id=?1"));
    Query q(this, stmt);
    ASSIGN_OR_RETURN(bool row, q.Text(1, id).Step("look up volume id " + id));
    if (row) {
      return Status::AlreadyExists("cannot create " + what + ": volume id " + id +
                                   " is already used by volume " + QuoteName(q.TextColumn(1)) +
                                   " in environment " + QuoteName(q.TextColumn(0)));
    }
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("INSERT INTO volumes(env, name, id, created_ns, inode_limit) "
                           "VALUES(?1, ?2, ?3, ?4, ?5)"));
  RETURN_IF_ERROR(Query(this, stmt)
                      .Text(1, env)
                      .Text(2, record.name)
                      .Text(3, id)
                      .Int(4, created)
                      .Int(5, static_cast<int64_t>(record.inode_limit))
                      .Run("create " + what));
  return txn.Commit();
}

Result<VolumeRecord> SqliteCatalog::GetVolume(const std::string& env, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(
      sqlite3_stmt * stmt,
      Prepare("SELECT id, created_ns, inode_limit FROM volumes WHERE env=?1 AND name=?2"));
  Query q(this, stmt);
  ASSIGN_OR_RETURN(bool row,
                   q.Text(1, env).Text(2, name).Step("look up volume " + QuoteName(name) +
                                                     " in environment " + QuoteName(env)));
  if (!row) {
    ASSIGN_OR_RETURN(bool env_exists, EnvironmentExistsLocked(env));
    if (!env_exists) return EnvironmentNotFound(env);
    return VolumeNotFound(env, name);
  }
  VolumeRecord r;
  r.environment = env;
  r.name = name;
  r.id = q.TextColumn(0);
  r.created_ns = q.IntColumn(1);
  r.inode_limit = static_cast<uint64_t>(q.IntColumn(2));
  return r;
}

Result<std::vector<VolumeRecord>> SqliteCatalog::ListVolumes(const std::string& env) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<VolumeRecord> out;
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                     Prepare("SELECT name, id, created_ns, inode_limit FROM volumes "
                             "WHERE env=?1 ORDER BY name"));
    Query q(this, stmt);
    q.Text(1, env);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, q.Step("list volumes in environment " + QuoteName(env)));
      if (!row) break;
      VolumeRecord r;
      r.environment = env;
      r.name = q.TextColumn(0);
      r.id = q.TextColumn(1);
      r.created_ns = q.IntColumn(2);
      r.inode_limit = static_cast<uint64_t>(q.IntColumn(3));
      out.push_back(std::move(r));
    }
  }
  if (out.empty()) {
    ASSIGN_OR_RETURN(bool env_exists, EnvironmentExistsLocked(env));
    if (!env_exists) return EnvironmentNotFound(env);
  }
  return out;
}

Status SqliteCatalog::DeleteVolume(const std::string& env, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  Transaction txn(this);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(auto id, VolumeIdLocked(env, name));
  if (!id.has_value()) return VolumeNotFound(env, name);
  std::string what = "volume " + QuoteName(name) + " in environment " + QuoteName(env);
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("DELETE FROM versions WHERE volume_id=?1"));
    RETURN_IF_ERROR(Query(this, stmt).Text(1, *id).Run("delete versions of " + what));
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("DELETE FROM volumes WHERE env=?1 AND name=?2"));
  RETURN_IF_ERROR(Query(this, stmt).Text(1, env).Text(2, name).Run("delete " + what));
  return txn.Commit();
}

Status SqliteCatalog::RenameVolume(const std::string& env, const std::string& from,
                                   const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  Transaction txn(this);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(auto id, VolumeIdLocked(env, from));
  if (!id.has_value()) return VolumeNotFound(env, from);
  if (from == to) return Status::Ok();
  ASSIGN_OR_RETURN(auto taken, VolumeIdLocked(env, to));
  if (taken.has_value()) {
    return Status::AlreadyExists("cannot rename volume " + QuoteName(from) + " to " +
                                 QuoteName(to) + " in environment " + QuoteName(env) + ": " +
                                 QuoteName(to) + " already exists");
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("UPDATE volumes SET name=?3 WHERE env=?1 AND name=?2"));
  RETURN_IF_ERROR(
      Query(this, stmt)
          .Text(1, env)
          .Text(2, from)
          .Text(3, to)
          .Run("rename volume " + QuoteName(from) + " in environment " + QuoteName(env)));
  return txn.Commit();
}

Status SqliteCatalog::SetInodeLimit(const std::string& env, const std::string& name,
                                    uint64_t limit) {
  std::string what = "volume " + QuoteName(name) + " in environment " + QuoteName(env);
  if (limit == 0) {
    return Status::InvalidArgument("cannot set the inode limit of " + what + " to 0");
  }
  std::lock_guard<std::mutex> l(mu_);
  Transaction txn(this);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(auto id, VolumeIdLocked(env, name));
  if (!id.has_value()) return VolumeNotFound(env, name);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("UPDATE volumes SET inode_limit=?3 WHERE env=?1 AND name=?2"));
  RETURN_IF_ERROR(Query(this, stmt)
                      .Text(1, env)
                      .Text(2, name)
                      .Int(3, static_cast<int64_t>(limit))
                      .Run("set inode limit of " + what));
  return txn.Commit();
}

// ---- Version log ------------------------------------------------------------

Result<bool> SqliteCatalog::AppendVersion(const std::string& volume_id,
                                          const VersionRecord& record) {
  std::string what = "version " + std::to_string(record.version) + " of volume id " + volume_id;
  if (record.version == 0) {
    return Status::InvalidArgument("cannot append " + what + ": versions start at 1");
  }
  std::lock_guard<std::mutex> l(mu_);
  Transaction txn(this);
  RETURN_IF_ERROR(txn.Begin());
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("SELECT 1 FROM volumes WHERE id=?1"));
    Query q(this, stmt);
    ASSIGN_OR_RETURN(bool row, q.Text(1, volume_id).Step("look up volume id " + volume_id));
    if (!row) {
      return Status::NotFound("cannot append " + what + ": no volume has that id (deleted?)");
    }
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * exists_stmt,
                   Prepare("SELECT 1 FROM versions WHERE volume_id=?1 AND version=?2"));
  {
    Query q(this, exists_stmt);
    ASSIGN_OR_RETURN(
        bool row,
        q.Text(1, volume_id).Int(2, static_cast<int64_t>(record.version)).Step("look up " + what));
    if (row) return false;  // lost the race; the rollback is harmless
  }
  if (record.version > 1) {
    Query q(this, exists_stmt);
    ASSIGN_OR_RETURN(bool row, q.Text(1, volume_id)
                                   .Int(2, static_cast<int64_t>(record.version - 1))
                                   .Step("look up the predecessor of " + what));
    if (!row) {
      return Status::FailedPrecondition("cannot append " + what + ": version " +
                                        std::to_string(record.version - 1) + " does not exist");
    }
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("INSERT INTO versions(volume_id, version, commit_hash, time_ns) "
                           "VALUES(?1, ?2, ?3, ?4)"));
  RETURN_IF_ERROR(Query(this, stmt)
                      .Text(1, volume_id)
                      .Int(2, static_cast<int64_t>(record.version))
                      .Blob(3, record.commit.Bytes())
                      .Int(4, record.time_ns)
                      .Run("append " + what));
  RETURN_IF_ERROR(txn.Commit());
  return true;
}

namespace {

Result<VersionRecord> RowToVersion(uint64_t version, const std::string& hash_bytes, int64_t time_ns,
                                   const std::string& volume_id) {
  auto hash = Hash::FromBytes(hash_bytes);
  if (!hash.ok()) {
    return Status::Corruption("catalog row for version " + std::to_string(version) +
                              " of volume id " + volume_id + " has a malformed commit hash");
  }
  VersionRecord r;
  r.version = version;
  r.commit = *hash;
  r.time_ns = time_ns;
  return r;
}

}  // namespace

Result<std::optional<VersionRecord>> SqliteCatalog::LatestVersion(const std::string& volume_id) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("SELECT version, commit_hash, time_ns FROM versions "
                           "WHERE volume_id=?1 ORDER BY version DESC LIMIT 1"));
  Query q(this, stmt);
  ASSIGN_OR_RETURN(bool row,
                   q.Text(1, volume_id).Step("read the latest version of volume id " + volume_id));
  if (!row) return std::optional<VersionRecord>();
  ASSIGN_OR_RETURN(VersionRecord r, RowToVersion(static_cast<uint64_t>(q.IntColumn(0)),
                                                 q.BlobColumn(1), q.IntColumn(2), volume_id));
  return std::optional<VersionRecord>(r);
}

Result<VersionRecord> SqliteCatalog::GetVersion(const std::string& volume_id, uint64_t version) {
  std::lock_guard<std::mutex> l(mu_);
  std::string what = "version " + std::to_string(version) + " of volume id " + volume_id;
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("SELECT commit_hash, time_ns FROM versions "
                                                "WHERE volume_id=?1 AND version=?2"));
  Query q(this, stmt);
  ASSIGN_OR_RETURN(bool row,
                   q.Text(1, volume_id).Int(2, static_cast<int64_t>(version)).Step("read " + what));
  if (!row) return Status::NotFound(what + " not found");
  return RowToVersion(version, q.BlobColumn(0), q.IntColumn(1), volume_id);
}

Result<std::vector<VersionRecord>> SqliteCatalog::ListVersions(const std::string& volume_id,
                                                               uint64_t from, uint64_t limit) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("SELECT version, commit_hash, time_ns FROM versions "
                           "WHERE volume_id=?1 AND version>=?2 ORDER BY version LIMIT ?3"));
  Query q(this, stmt);
  q.Text(1, volume_id)
      .Int(2, static_cast<int64_t>(from))
      .Int(3, limit == 0 ? -1 : static_cast<int64_t>(limit));
  std::vector<VersionRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step("list versions of volume id " + volume_id));
    if (!row) break;
    ASSIGN_OR_RETURN(VersionRecord r, RowToVersion(static_cast<uint64_t>(q.IntColumn(0)),
                                                   q.BlobColumn(1), q.IntColumn(2), volume_id));
    out.push_back(r);
  }
  return out;
}

Status SqliteCatalog::AddMount(const MountRecord& r) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("INSERT OR REPLACE INTO mounts(mount_id, volume_id, host, pid, "
                           "mountpoint, state_dir, created_ns) VALUES(?1,?2,?3,?4,?5,?6,?7)"));
  return Query(this, stmt)
      .Text(1, r.mount_id)
      .Text(2, r.volume_id)
      .Text(3, r.host)
      .Int(4, r.pid)
      .Blob(5, r.mountpoint)
      .Blob(6, r.state_dir)
      .Int(7, r.created_ns)
      .Run("register mount " + r.mount_id);
}

Status SqliteCatalog::RemoveMount(const std::string& mount_id) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare("DELETE FROM mounts WHERE mount_id=?1"));
  return Query(this, stmt).Text(1, mount_id).Run("unregister mount " + mount_id);
}

Result<std::vector<MountRecord>> SqliteCatalog::ListMounts(const std::string& volume_id) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                   Prepare("SELECT mount_id, host, pid, mountpoint, state_dir, created_ns FROM "
                           "mounts WHERE volume_id=?1 ORDER BY mount_id"));
  Query q(this, stmt);
  q.Text(1, volume_id);
  std::vector<MountRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step("list mounts of volume id " + volume_id));
    if (!row) break;
    MountRecord r;
    r.mount_id = q.TextColumn(0);
    r.volume_id = volume_id;
    r.host = q.TextColumn(1);
    r.pid = q.IntColumn(2);
    r.mountpoint = q.BlobColumn(3);
    r.state_dir = q.BlobColumn(4);
    r.created_ns = q.IntColumn(5);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace snapvol::store
