#include "driver/store/local/sqlite_catalog.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <map>
#include <sstream>

#include "tests/store/catalog_conformance.h"
#include "tests/store/temp_dir.h"

namespace snapvol::store {
namespace {

using core::Code;
using core::Env;

class SqliteTarget : public CatalogTarget {
 public:
  Result<std::unique_ptr<Catalog>> Open() override {
    ASSIGN_OR_RETURN(auto c, SqliteCatalog::Open(dir_.path() + "/catalog.db", Env::Default()));
    return std::unique_ptr<Catalog>(std::move(c));
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, CatalogConformanceTest,
                         ::testing::Values(CatalogBackend{
                             "sqlite", [] { return std::make_unique<SqliteTarget>(); }}),
                         CatalogBackendName);

// Direct access to the database file, as another process would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string One(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  }
  // table -> "col:type:pk" list
  std::map<std::string, std::string> Columns(const std::string& table) {
    std::map<std::string, std::string> out;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, ("PRAGMA table_info(" + table + ")").c_str(), -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      std::string type = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
      out[name] = type + (sqlite3_column_int(st, 5) ? " pk" : "");
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteCatalogTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/catalog.db"; }
  TempDir dir_;
};

TEST_F(SqliteCatalogTest, SchemaMatchesTheDocs) {
  ASSERT_TRUE(SqliteCatalog::Open(path(), Env::Default()).ok());
  RawDb db(path());
  EXPECT_EQ(db.One("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.One("SELECT value FROM meta WHERE key='schema_version'"), "1");
  EXPECT_EQ(db.Columns("meta"),
            (std::map<std::string, std::string>{{"key", "TEXT pk"}, {"value", "TEXT"}}));
  EXPECT_EQ(db.Columns("environments"),
            (std::map<std::string, std::string>{{"name", "TEXT pk"}, {"created_ns", "INTEGER"}}));
  EXPECT_EQ(db.Columns("volumes"),
            (std::map<std::string, std::string>{{"env", "TEXT pk"},
                                                {"name", "TEXT pk"},
                                                {"id", "TEXT"},
                                                {"created_ns", "INTEGER"},
                                                {"inode_limit", "INTEGER"}}));
  EXPECT_EQ(db.Columns("versions"), (std::map<std::string, std::string>{{"volume_id", "TEXT pk"},
                                                                        {"version", "INTEGER pk"},
                                                                        {"commit_hash", "BLOB"},
                                                                        {"time_ns", "INTEGER"}}));
  std::ifstream doc(std::string(SNAPVOL_SOURCE_DIR) + "/docs/storage-format.md");
  std::stringstream text;
  text << doc.rdbuf();
  for (const char* s : {"schema_version", "CREATE TABLE environments", "CREATE TABLE volumes",
                        "CREATE TABLE versions", "commit_hash BLOB", "inode_limit INTEGER",
                        "synchronous=FULL", "BEGIN IMMEDIATE"}) {
    EXPECT_NE(text.str().find(s), std::string::npos) << s;
  }
}

TEST_F(SqliteCatalogTest, ReopenKeepsRecords) {
  std::string id;
  {
    auto c = SqliteCatalog::Open(path(), Env::Default());
    ASSERT_TRUE(c.ok());
    VolumeRecord r;
    r.environment = "main";
    r.name = "keep";
    ASSERT_TRUE((*c)->CreateVolume(r).ok());
    id = (*c)->GetVolume("main", "keep")->id;
    VersionRecord v;
    v.version = 1;
    v.commit = Hash::Of("c1");
    ASSERT_TRUE(*(*c)->AppendVersion(id, v));
  }
  auto c = SqliteCatalog::Open(path(), Env::Default());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->GetVolume("main", "keep")->id, id);
  EXPECT_EQ((*(*c)->LatestVersion(id))->commit, Hash::Of("c1"));
  EXPECT_EQ((*c)->ListEnvironments()->size(), 1u);
}

TEST_F(SqliteCatalogTest, BusyCatalogIsUnavailable) {
  SqliteCatalogOptions options;
  options.busy_timeout_ms = 50;
  auto c = SqliteCatalog::Open(path(), Env::Default(), options);
  ASSERT_TRUE(c.ok());
  RawDb other(path());
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  Status s = (*c)->CreateEnvironment("blocked", 1);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find(path()), std::string::npos) << s.ToString();
  // Readers are not blocked by a writer (WAL).
  EXPECT_TRUE((*c)->EnvironmentExists("main").ok());
  ASSERT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  EXPECT_TRUE((*c)->CreateEnvironment("blocked", 1).ok());
}

TEST_F(SqliteCatalogTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(SqliteCatalog::Open(path(), Env::Default()).ok());
  {
    RawDb db(path());
    ASSERT_EQ(db.Exec("UPDATE meta SET value='2' WHERE key='schema_version'"), SQLITE_OK);
  }
  auto c = SqliteCatalog::Open(path(), Env::Default());
  EXPECT_EQ(c.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("schema version '2'"), std::string::npos)
      << c.status().ToString();
}

TEST_F(SqliteCatalogTest, GarbageFileIsCorruption) {
  {
    std::ofstream f(path(), std::ios::binary);
    f << std::string(8192, 'G');
  }
  auto c = SqliteCatalog::Open(path(), Env::Default());
  EXPECT_EQ(c.status().code(), Code::kCorruption) << c.status().ToString();
  EXPECT_NE(c.status().message().find(path()), std::string::npos);
}

TEST_F(SqliteCatalogTest, UnopenableCatalogIsAnError) {
  auto c = SqliteCatalog::Open(dir_.path() + "/missing/dir/catalog.db", Env::Default());
  EXPECT_EQ(c.status().code(), Code::kIOError) << c.status().ToString();
}

TEST_F(SqliteCatalogTest, ZeroInodeLimitIsRejected) {
  auto c = SqliteCatalog::Open(path(), Env::Default());
  ASSERT_TRUE(c.ok());
  VolumeRecord r;
  r.environment = "main";
  r.name = "v";
  r.inode_limit = 0;
  EXPECT_EQ((*c)->CreateVolume(r).code(), Code::kInvalidArgument);
  r.inode_limit = 10;
  ASSERT_TRUE((*c)->CreateVolume(r).ok());
  EXPECT_EQ((*c)->SetInodeLimit("main", "v", 0).code(), Code::kInvalidArgument);
}

TEST(SqliteCatalogIdTest, NewVolumeIdIsRandom128BitHex) {
  std::string a = NewVolumeId(), b = NewVolumeId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace snapvol::store
