// SQLite implementation of Registry. One connection guarded by a mutex: the
// controller's request rate is tiny, and a single connection keeps the
// statements simple. Schema version in PRAGMA user_version.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "driver/csi/registry.h"

namespace snapvol::csi {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS volume_meta (
  volume_uid     TEXT PRIMARY KEY,
  request_name   TEXT NOT NULL,
  capacity_bytes INTEGER NOT NULL,
  content_source TEXT NOT NULL,
  created_ns     INTEGER NOT NULL,
  commit_interval TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
  id                TEXT PRIMARY KEY,
  request_name      TEXT NOT NULL UNIQUE,
  source_volume_id  TEXT NOT NULL,
  source_volume_uid TEXT NOT NULL,
  version           INTEGER NOT NULL,
  commit_hash       BLOB NOT NULL,
  size_bytes        INTEGER NOT NULL,
  created_ns        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_source ON snapshots(source_volume_id, id);
)sql";

// Finalizes a statement when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindBlob(int i, std::string_view b) {
    sqlite3_bind_blob(stmt_, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
  }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

class SqliteRegistry : public Registry {
 public:
  SqliteRegistry(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteRegistry() override { sqlite3_close(db_); }

  Result<std::optional<VolumeMeta>> GetVolumeMeta(const std::string& volume_uid) override {
    std::lock_guard lock(mu_);
    Stmt s(db_,
           "SELECT volume_uid, request_name, capacity_bytes, content_source, created_ns, "
           "commit_interval "
           "FROM volume_meta WHERE volume_uid = ?");
    if (!s.ok()) return Error("prepare");
    s.Bind(1, volume_uid);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) return std::optional<VolumeMeta>();
    if (rc != SQLITE_ROW) return Error("read volume record");
    return std::optional<VolumeMeta>(
        VolumeMeta{s.Text(0), s.Text(1), s.Int(2), s.Text(3), s.Int(4), s.Text(5)});
  }

  Status PutVolumeMeta(const VolumeMeta& m) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "INSERT OR REPLACE INTO volume_meta VALUES (?, ?, ?, ?, ?, ?)");
    if (!s.ok()) return Error("prepare");
    s.Bind(1, m.volume_uid);
    s.Bind(2, m.request_name);
    s.Bind(3, m.capacity_bytes);
    s.Bind(4, m.content_source);
    s.Bind(5, m.created_ns);
    s.Bind(6, m.commit_interval);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("write volume record");
    return Status::Ok();
  }

  Status DeleteVolumeMeta(const std::string& volume_uid) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "DELETE FROM volume_meta WHERE volume_uid = ?");
    if (!s.ok()) return Error("prepare");
    s.Bind(1, volume_uid);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("delete volume record");
    return Status::Ok();
  }

  Status CreateSnapshot(const SnapshotRecord& r) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s.ok()) return Error("prepare");
    s.Bind(1, r.id);
    s.Bind(2, r.request_name);
    s.Bind(3, r.source_volume_id);
    s.Bind(4, r.source_volume_uid);
    s.Bind(5, static_cast<int64_t>(r.version));
    s.BindBlob(6, r.commit.Bytes());
    s.Bind(7, r.size_bytes);
    s.Bind(8, r.created_ns);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_CONSTRAINT) {
      return Status::AlreadyExists("snapshot '" + r.request_name + "' (" + r.id +
                                   ") already exists");
    }
    if (rc != SQLITE_DONE) return Error("write snapshot '" + r.id + "'");
    return Status::Ok();
  }

  Result<std::optional<SnapshotRecord>> FindSnapshotByName(const std::string& name) override {
    return GetOne("SELECT * FROM snapshots WHERE request_name = ?", name);
  }

  Result<std::optional<SnapshotRecord>> GetSnapshot(const std::string& id) override {
    return GetOne("SELECT * FROM snapshots WHERE id = ?", id);
  }

  Result<std::vector<SnapshotRecord>> ListSnapshots(const std::string& after, size_t limit,
                                                    const std::string& source) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, source.empty() ? "SELECT * FROM snapshots WHERE id > ? ORDER BY id LIMIT ?"
                               : "SELECT * FROM snapshots WHERE id > ? AND source_volume_id = ? "
                                 "ORDER BY id LIMIT ?");
    if (!s.ok()) return Error("prepare");
    int i = 1;
    s.Bind(i++, after);
    if (!source.empty()) s.Bind(i++, source);
    s.Bind(i, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
    std::vector<SnapshotRecord> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      auto r = Row(s);
      if (!r.ok()) return r.status();
      out.push_back(std::move(r).value());
    }
    if (rc != SQLITE_DONE) return Error("list snapshots");
    return out;
  }

  Status DeleteSnapshot(const std::string& id) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "DELETE FROM snapshots WHERE id = ?");
    if (!s.ok()) return Error("prepare");
    s.Bind(1, id);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return Error("delete snapshot '" + id + "'");
    return Status::Ok();
  }

  Status Check() override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT count(*) FROM snapshots");
    if (!s.ok() || sqlite3_step(s.get()) != SQLITE_ROW) return Error("check");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) {
    return Status::Unavailable("CSI registry " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
  }

  Result<SnapshotRecord> Row(Stmt& s) {
    auto hash = core::Hash::FromBytes(s.Blob(5));
    if (!hash.ok())
      return Status::Corruption("CSI registry " + path_ + ": snapshot '" + s.Text(0) +
                                "' has a malformed commit hash");
    return SnapshotRecord{
        s.Text(0), s.Text(1), s.Text(2), s.Text(3), static_cast<uint64_t>(s.Int(4)),
        *hash,     s.Int(6),  s.Int(7)};
  }

  Result<std::optional<SnapshotRecord>> GetOne(const char* sql, const std::string& key) {
    std::lock_guard lock(mu_);
    Stmt s(db_, sql);
    if (!s.ok()) return Error("prepare");
    s.Bind(1, key);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) return std::optional<SnapshotRecord>();
    if (rc != SQLITE_ROW) return Error("read snapshot");
    auto r = Row(s);
    if (!r.ok()) return r.status();
    return std::optional<SnapshotRecord>(std::move(r).value());
  }

  std::mutex mu_;
  sqlite3* db_;  // guarded by mu_
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<Registry>> OpenSqliteRegistry(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::FromErrno(ec.value(), "create directory for CSI registry " + path);
  // Owner-only, like everything under the state dir (see SqliteCatalog::Open).
  // O_EXCL: never open (and close) an existing database file here: closing
  // any descriptor of it drops every POSIX lock this process's other SQLite
  // connections hold on it.
  if (int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0) {
    ::close(fd);
  }
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Unavailable("open CSI registry " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 10'000);
  char* err = nullptr;
  std::string setup = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") + kSchema;
  rc = sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) {
    std::string v = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
    rc = sqlite3_exec(db, v.c_str(), nullptr, nullptr, &err);
  }
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    sqlite3_close(db);
    return Status::Unavailable("initialise CSI registry " + path + ": " + msg);
  }
  return std::unique_ptr<Registry>(new SqliteRegistry(db, path));
}

}  // namespace snapvol::csi
