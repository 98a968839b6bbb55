// Crash and full-disk tests of the mount's durable state: the journal and the
// upper files written the way the View writes them (an upper file is
// created or written first, then its journal record appended; an fsync
// syncs the upper files, then the journal), through a FaultEnv, then
// replayed by recovery (ReplayMountDir) and compared with a model.
//
// For every crash point of random scripts (a process crash: every later
// step fails, nothing written is lost), the replay must equal the model
// after the acknowledged operations, or after the one in flight too. After
// a power loss on top (DropUnsyncedData), every path must hold a value it
// had at some moment since the last acknowledged sync: what was synced is
// never lost, and nothing appears that never was. With the disk filling at
// every byte, the failing operation reports ENOSPC and the journal stays
// replayable with the same rule. The same scripts also run through a real
// View whose journal alone is on the FaultEnv, so each crash lands between
// the View's write of an upper file and its journal append.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "driver/core/errno_code.h"
#include "driver/core/fault_env.h"
#include "driver/fs/chunk_cache.h"
#include "driver/fs/journal.h"
#include "driver/fs/recovery.h"
#include "driver/fs/state_layout.h"
#include "driver/fs/tree_cache.h"
#include "driver/fs/upper_file.h"
#include "driver/fs/view.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;

constexpr char kDir[] = "<dir>";
// Path -> file content, or kDir. What a replay commits, and what the
// mount showed.
using Tree = std::map<std::string, std::string>;
// The mount's state after some operations: the tree, and which file (the
// index of the operation that created it) each name is.
struct Model {
  Tree tree;
  std::map<std::string, size_t> file;
};

struct Op {
  enum Kind { kCreate, kWrite, kSyncAll, kRename, kDelete, kRotate, kMkdir } kind;
  std::string path;
  std::string to;    // kRename
  std::string data;  // kWrite
  uint64_t off = 0;  // kWrite
};

std::string Describe(const Op& op) {
  static const char* const kNames[] = {"create", "write",  "sync", "rename",
                                       "delete", "rotate", "mkdir"};
  return std::string(kNames[op.kind]) + " " + op.path + (op.to.empty() ? "" : " " + op.to) +
         (op.kind == Op::kWrite
              ? "@" + std::to_string(op.off) + "+" + std::to_string(op.data.size())
              : "");
}

void ApplyToTree(const Op& op, Tree* t) {
  switch (op.kind) {
    case Op::kCreate:
      (*t)[op.path] = "";
      break;
    case Op::kWrite: {
      std::string& c = (*t)[op.path];
      if (c.size() < op.off + op.data.size()) c.resize(op.off + op.data.size(), '\0');
      c.replace(op.off, op.data.size(), op.data);
      break;
    }
    case Op::kRename:
      (*t)[op.to] = (*t)[op.path];
      t->erase(op.path);
      break;
    case Op::kDelete:
      t->erase(op.path);
      break;
    case Op::kMkdir:
      (*t)[op.path] = kDir;
      break;
    case Op::kSyncAll:
    case Op::kRotate:
      break;
  }
}

// A random script over a few names: files are created, written (small:
// their content is inlined by the replay), renamed, deleted; syncs,
// rotations (a commit that starts and fails) and a directory in between.
std::vector<Op> Script(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::vector<Op> ops;
  Tree t;
  int next_name = 0;
  auto pick_file = [&]() -> std::optional<std::string> {
    std::vector<std::string> files;
    for (const auto& [p, v] : t) {
      if (v != kDir) files.push_back(p);
    }
    if (files.empty()) return std::nullopt;
    return files[rng() % files.size()];
  };
  while (static_cast<int>(ops.size()) < n) {
    Op op;
    const uint32_t r = rng() % 100;
    std::optional<std::string> file = pick_file();
    if (r < 20 || !file) {
      op.kind = Op::kCreate;
      op.path = "f" + std::to_string(next_name++);
    } else if (r < 55) {
      op.kind = Op::kWrite;
      op.path = *file;
      op.off = rng() % 200;
      op.data = std::string(1 + rng() % 300, static_cast<char>('a' + rng() % 26));
    } else if (r < 67) {
      op.kind = Op::kSyncAll;
    } else if (r < 77) {
      op.kind = Op::kRename;
      op.path = *file;
      op.to = "f" + std::to_string(next_name++);
    } else if (r < 85) {
      op.kind = Op::kDelete;
      op.path = *file;
    } else if (r < 95) {
      op.kind = Op::kRotate;
    } else {
      op.kind = Op::kMkdir;
      op.path = "d" + std::to_string(next_name++);
    }
    ApplyToTree(op, &t);
    ops.push_back(std::move(op));
  }
  return ops;
}

mount::JournalRecord Record(mount::JournalRecord::Op kind, const std::string& path) {
  mount::JournalRecord r;
  r.set_op(kind);
  r.add_path(path);
  r.mutable_entry()->set_type(kind == mount::JournalRecord::MKDIR ? objects::DIRECTORY
                                                                  : objects::FILE);
  r.mutable_entry()->set_mode(kind == mount::JournalRecord::MKDIR ? 0755 : 0644);
  return r;
}

// The write side of a mount, as the View drives the journal and upper files.
class MountWriter {
 public:
  MountWriter(core::Env* env, const std::string& dir) : env_(env), layout_(dir) {}

  Status Start() {
    RETURN_IF_ERROR(env_->CreateDirs(layout_.DataDir()));
    ASSIGN_OR_RETURN(journal_, Journal::Open(layout_.dir(), 1, env_));
    return Status::Ok();
  }

  // The two halves of kSyncAll.
  Status SyncUppers() {
    for (auto& [path, f] : files_) RETURN_IF_ERROR(f.upper->Sync());
    return Status::Ok();
  }
  Status SyncJournal() { return journal_->Sync(); }

  // `written`: the bytes a write wrote, fewer than asked if the disk filled.
  Status Run(const Op& op, size_t* written) {
    switch (op.kind) {
      case Op::kCreate: {
        const uint64_t id = next_upper_++;
        ASSIGN_OR_RETURN(std::shared_ptr<UpperFile> f,
                         UpperFile::Create(layout_.UpperFile(id), id, env_));
        mount::JournalRecord r = Record(mount::JournalRecord::PUT, op.path);
        r.set_upper(id);
        RETURN_IF_ERROR(journal_->Append(r));
        files_[op.path] = {f, journal_->gen()};
        return Status::Ok();
      }
      case Op::kWrite: {
        File& f = files_.at(op.path);
        {
          ASSIGN_OR_RETURN(UpperFile::Use use, f.upper->Acquire());
          UpperFile::WriteScope scope(f.upper.get());
          ASSIGN_OR_RETURN(*written, use.Pwrite(op.data, op.off));
        }
        // The first change in a generation journals a PUT naming the file.
        if (f.journaled_gen != journal_->gen()) {
          mount::JournalRecord r = Record(mount::JournalRecord::PUT, op.path);
          r.set_upper(f.upper->id());
          RETURN_IF_ERROR(journal_->Append(r));
          f.journaled_gen = journal_->gen();
        }
        return Status::Ok();
      }
      case Op::kSyncAll:
        RETURN_IF_ERROR(SyncUppers());
        return journal_->Sync();
      case Op::kRename: {
        mount::JournalRecord r = Record(mount::JournalRecord::RENAME, op.path);
        r.add_to(op.to);
        RETURN_IF_ERROR(journal_->Append(r));
        auto node = files_.extract(op.path);
        node.key() = op.to;
        files_.insert(std::move(node));
        return Status::Ok();
      }
      case Op::kDelete:
        RETURN_IF_ERROR(journal_->Append(Record(mount::JournalRecord::DELETE, op.path)));
        files_.at(op.path).upper->Unlink();
        files_.erase(op.path);
        return Status::Ok();
      case Op::kRotate:
        return journal_->Rotate().status();
      case Op::kMkdir:
        return journal_->Append(Record(mount::JournalRecord::MKDIR, op.path));
    }
    return Status::Internal("unknown op");
  }

 private:
  struct File {
    std::shared_ptr<UpperFile> upper;
    uint64_t journaled_gen = 0;
  };
  core::Env* const env_;
  const MountDirLayout layout_;
  std::unique_ptr<Journal> journal_;
  std::map<std::string, File> files_;
  uint64_t next_upper_ = 1;
};

// The same operations through a View, all in the root directory. Its
// journal is on `env`; its upper files on the real disk.
class ViewWriter {
 public:
  ViewWriter(core::Env* env, const std::string& dir) : env_(env), layout_(dir) {}
  ~ViewWriter() {
    for (auto& [path, h] : handles_) view_->Release(h);
  }

  Status Start(store::ObjectStore* objects, TreeCache* trees, ChunkCache* chunks,
               const volume::Snapshot& base) {
    RETURN_IF_ERROR(env_->CreateDirs(layout_.DataDir()));
    ASSIGN_OR_RETURN(journal_, Journal::Open(layout_.dir(), 1, env_));
    ViewOptions o;
    o.data_dir = layout_.DataDir();
    view_ = std::make_unique<View>(o, objects, trees, chunks, journal_.get());
    return view_->Attach(base);
  }

  Status Run(const Op& op, size_t* written) {
    switch (op.kind) {
      case Op::kCreate: {
        ASSIGN_OR_RETURN(auto created,
                         view_->Create(kRootIno, op.path, 0644, O_RDWR | O_CREAT, Cred()));
        handles_[op.path] = created.second.handle;
        return Status::Ok();
      }
      case Op::kWrite: {
        Result<View::WriteTicket> ticket = view_->BeginWrite(handles_.at(op.path), Cred(), false);
        if (!ticket.ok()) return ticket.status();
        Result<size_t> n = ticket->use().Pwrite(op.data, op.off);
        if (!n.ok()) return n.status();
        *written = *n;
        return view_->EndWrite(std::move(*ticket), op.off, *written);
      }
      case Op::kSyncAll:
        for (auto& [path, h] : handles_) RETURN_IF_ERROR(view_->Fsync(h, true));
        return view_->SyncJournal();
      case Op::kRename: {
        RETURN_IF_ERROR(view_->Rename(kRootIno, op.path, kRootIno, op.to, 0, Cred()));
        auto node = handles_.extract(op.path);
        node.key() = op.to;
        handles_.insert(std::move(node));
        return Status::Ok();
      }
      case Op::kDelete: {
        RETURN_IF_ERROR(view_->Unlink(kRootIno, op.path, Cred()));
        view_->Release(handles_.at(op.path));
        handles_.erase(op.path);
        return Status::Ok();
      }
      case Op::kRotate:
        // What a commit that then fails leaves: a new generation.
        return journal_->Rotate().status();
      case Op::kMkdir:
        return view_->Mkdir(kRootIno, op.path, 0755, Cred()).status();
    }
    return Status::Internal("unknown op");
  }

 private:
  core::Env* const env_;
  const MountDirLayout layout_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<View> view_;
  std::map<std::string, Handle*> handles_;
};

class JournalFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = stdfs::temp_directory_path() /
            ("snapvol-journal-fault-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(root_);
    stdfs::create_directories(root_);
    auto st = store::OpenStore((root_ / "store").string(), core::Env::Default());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
  }
  void TearDown() override {
    store_.reset();
    stdfs::remove_all(root_);
  }

  std::string MountDir() const { return (root_ / "mount").string(); }

  // What recovery would commit, as a tree.
  Result<Tree> Replay() {
    ASSIGN_OR_RETURN(volume::ChangeSet changes, ReplayMountDir(MountDir(), store_->objects.get()));
    Tree t;
    auto join = [](const volume::Path& p) {
      std::string s;
      for (const auto& c : p) s += (s.empty() ? "" : "/") + c;
      return s;
    };
    for (const volume::ChangeOp& op : changes.ops()) {
      const std::string p = join(op.path);
      switch (op.kind) {
        case volume::ChangeOp::Kind::kPut: {
          std::string c = op.entry.content().inline_data();
          if (c.size() != op.entry.size()) return Status::Internal("not inline: " + p);
          t[p] = c;
          break;
        }
        case volume::ChangeOp::Kind::kMkdir:
          t[p] = kDir;
          break;
        case volume::ChangeOp::Kind::kDelete:
          t.erase(p);
          break;
        case volume::ChangeOp::Kind::kRename: {
          if (t.count(p) == 0) return Status::Internal("rename of absent " + p);
          t[join(op.to)] = t[p];
          t.erase(p);
          break;
        }
        case volume::ChangeOp::Kind::kSetAttr:
          break;  // attributes: not modelled
        default:
          return Status::Internal("unexpected op at " + p);
      }
    }
    return t;
  }

  // The model after each prefix of `ops`: models[i] after i operations.
  static std::vector<Model> Models(const std::vector<Op>& ops) {
    std::vector<Model> models(1);
    for (size_t i = 0; i < ops.size(); ++i) {
      models.push_back(models.back());
      Model& m = models.back();
      ApplyToTree(ops[i], &m.tree);
      if (ops[i].kind == Op::kCreate) m.file[ops[i].path] = i;
      if (ops[i].kind == Op::kRename) m.file[ops[i].to] = m.file[ops[i].path];
      if (ops[i].kind == Op::kRename || ops[i].kind == Op::kDelete) m.file.erase(ops[i].path);
    }
    return models;
  }

  // Runs `ops` until one fails; returns how many were acknowledged and,
  // through `synced`, how many had been when the last sync was. A short
  // write (the disk filled within it) is acknowledged with what it wrote,
  // as write(2) would: `ops` then holds the bytes it did write.
  template <typename Writer>
  static size_t RunUntilFailure(Writer& w, std::vector<Op>* ops, size_t* synced, Status* failure) {
    *synced = 0;
    for (size_t i = 0; i < ops->size(); ++i) {
      Op& op = (*ops)[i];
      size_t written = op.data.size();
      *failure = w.Run(op, &written);
      op.data.resize(written);
      if (!failure->ok()) return i;
      if (op.kind == Op::kSyncAll) *synced = i + 1;
    }
    return ops->size();
  }

  // The replay equals the model after `acked` operations or after the one
  // in flight as well.
  void ExpectAckedOrInFlight(const std::vector<Model>& models, size_t acked,
                             const std::string& where) {
    Result<Tree> got = Replay();
    ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
    const bool before = *got == models[acked].tree;
    const bool after = acked + 1 < models.size() && *got == models[acked + 1].tree;
    EXPECT_TRUE(before || after) << where << ": the replay is neither the acknowledged state "
                                 << "nor that plus the operation in flight";
  }

  // After a power loss, as a POSIX file system after a crash: each name is
  // absent only if it was absent at some moment from the last sync
  // (`synced` operations) to the operation in flight, and present only as
  // a directory it was or as a file that had that name in that window,
  // with content that file had in that window. (Names and bytes are made
  // durable separately: a rename after the sync may be lost while the
  // renamed file's later bytes were written back.)
  void ExpectSinceLastSync(const std::vector<Model>& models, size_t synced, size_t acked,
                           const std::string& where) {
    Result<Tree> got = Replay();
    ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
    const size_t last = std::min(acked + 1, models.size() - 1);
    std::set<std::string> paths;
    for (size_t i = synced; i <= last; ++i) {
      for (const auto& [p, v] : models[i].tree) paths.insert(p);
    }
    for (const auto& [p, v] : *got) paths.insert(p);
    // Content `file` had at some moment of the window.
    auto had = [&](size_t file, const std::string& content) {
      for (size_t j = synced; j <= last; ++j) {
        for (const auto& [q, f] : models[j].file) {
          if (f == file && models[j].tree.at(q) == content) return true;
        }
      }
      return false;
    };
    for (const std::string& p : paths) {
      auto it = got->find(p);
      bool seen = false;
      for (size_t i = synced; i <= last && !seen; ++i) {
        auto m = models[i].tree.find(p);
        if (it == got->end()) {
          seen = m == models[i].tree.end();
        } else if (m != models[i].tree.end() && m->second == kDir) {
          seen = it->second == kDir;
        } else if (m != models[i].tree.end()) {
          seen = had(models[i].file.at(p), it->second);
        }
      }
      EXPECT_TRUE(seen) << where << ": '" << p << "' is "
                        << (it == got->end() ? "absent" : "'" + it->second + "'")
                        << ", a value it never had since the last sync (operation " << synced
                        << ")";
    }
  }

  stdfs::path root_;
  std::unique_ptr<store::Store> store_;
};

constexpr int kSeeds = 4;
constexpr int kOps = 24;

std::string Trace(const std::vector<Op>& ops, size_t upto) {
  std::string s;
  for (size_t i = 0; i < ops.size() && i <= upto; ++i) s += "\n  " + Describe(ops[i]);
  return s;
}

TEST_F(JournalFaultTest, CrashAtEveryStepThenReplay) {
  int crash_points = 0;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    for (int64_t step = 1;; ++step) {
      std::vector<Op> ops = Script(seed, kOps);
      stdfs::remove_all(MountDir());
      core::FaultEnv env(core::Env::Default());
      MountWriter w(&env, MountDir());
      ASSERT_TRUE(w.Start().ok());
      env.CrashAtStep(env.steps() + step);
      size_t synced = 0;
      Status failure;
      const size_t acked = RunUntilFailure(w, &ops, &synced, &failure);
      if (acked == ops.size()) break;  // past the last step: every point was tried
      const std::vector<Model> models = Models(ops);
      ++crash_points;
      ASSERT_TRUE(env.crashed()) << failure.ToString();
      const std::string where = "seed " + std::to_string(seed) + ", crash at step " +
                                std::to_string(step) + " in: " + Trace(ops, acked);
      // The process died: the page cache keeps everything written.
      ExpectAckedOrInFlight(models, acked, where + "\n(process crash)");
      // The machine died: only what was synced is left.
      ASSERT_TRUE(env.DropUnsyncedData().ok());
      ExpectSinceLastSync(models, synced, acked, where + "\n(power loss)");
      if (HasFailure()) return;
    }
  }
  EXPECT_GT(crash_points, kSeeds * kOps);
}

TEST_F(JournalFaultTest, FullDiskAtEveryByteThenReplay) {
  for (uint32_t seed = 1; seed <= 2; ++seed) {
    for (uint64_t room = 0;; room += 7) {
      std::vector<Op> ops = Script(seed, kOps);
      stdfs::remove_all(MountDir());
      core::FaultEnv env(core::Env::Default());
      MountWriter w(&env, MountDir());
      ASSERT_TRUE(w.Start().ok());
      env.FillDiskAfter(room);
      size_t synced = 0;
      Status failure;
      const size_t acked = RunUntilFailure(w, &ops, &synced, &failure);
      if (acked == ops.size()) break;
      const std::vector<Model> models = Models(ops);
      const std::string where = "seed " + std::to_string(seed) + ", disk full after " +
                                std::to_string(room) + " bytes in: " + Trace(ops, acked);
      EXPECT_EQ(failure.sys_errno(), ENOSPC) << where << ": " << failure.ToString();
      EXPECT_TRUE(failure.Is(core::Code::kResourceExhausted)) << where;
      // Room again: what is journaled next must not hide behind the record
      // the full disk tore.
      env.Reset();
      size_t unused = 0;
      ASSERT_TRUE(w.Run(Op{Op::kMkdir, "later", "", "", 0}, &unused).ok());
      Result<Tree> got = Replay();
      ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
      EXPECT_EQ(got->count("later"), 1u) << where << ": a record after the full disk is lost";
      std::vector<Model> later = models;
      for (Model& m : later) m.tree["later"] = kDir;
      ExpectAckedOrInFlight(later, acked, where);
      if (HasFailure()) return;
    }
  }
}

TEST_F(JournalFaultTest, FailedSyncIsNeverAcknowledgedAsDurable) {
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    const std::vector<Op> ops = Script(seed, kOps);
    const std::vector<Model> models = Models(ops);
    // The n-th fdatasync fails; the script goes on as an application would
    // after a failed fsync, and later syncs must fail too.
    for (int nth = 1;; ++nth) {
      stdfs::remove_all(MountDir());
      core::FaultEnv env(core::Env::Default());
      MountWriter w(&env, MountDir());
      ASSERT_TRUE(w.Start().ok());
      size_t synced = 0;
      int syncs = 0;
      bool failed = false;
      size_t i = 0;
      for (; i < ops.size(); ++i) {
        const bool fail_here = ops[i].kind == Op::kSyncAll && ++syncs == nth;
        size_t written = 0;
        Status s;
        if (fail_here && nth % 2 == 0) {
          // The upper files sync; the journal's fdatasync fails.
          s = w.SyncUppers();
          ASSERT_TRUE(s.ok()) << s.ToString();
          env.FailOperation("sync", EIO);
          s = w.SyncJournal();
        } else {
          if (fail_here) env.FailOperation("sync", EIO);
          s = w.Run(ops[i], &written);
        }
        env.FailOperation("", 0);
        if (fail_here) {
          EXPECT_EQ(s.sys_errno(), EIO) << "seed " << seed << " sync " << nth;
          failed = true;
        } else if (ops[i].kind == Op::kSyncAll && s.ok()) {
          // Only right if what the failed sync lost is gone anyway (its
          // file deleted): the check below holds a success to that.
          synced = i + 1;
        } else {
          ASSERT_TRUE(s.ok() || ops[i].kind == Op::kSyncAll) << s.ToString();
        }
      }
      if (!failed) break;  // fewer syncs than nth: every one was tried
      ASSERT_TRUE(env.DropUnsyncedData().ok());
      ExpectSinceLastSync(models, synced, ops.size() - 1,
                          "seed " + std::to_string(seed) + ", sync " + std::to_string(nth) +
                              " failed, then power loss at the end");
      if (HasFailure()) return;
    }
  }
}

// A View over an empty volume, for the tests that drive one.
class ViewJournalFaultTest : public JournalFaultTest {
 protected:
  void SetUp() override {
    JournalFaultTest::SetUp();
    engine_ = std::make_unique<volume::Engine>(store_.get(), core::Env::Default());
    ASSERT_TRUE(engine_->CreateVolume("main", "v", volume::CreateVolumeOptions()).ok());
    auto vol = engine_->GetVolume("main", "v");
    ASSERT_TRUE(vol.ok());
    auto head = engine_->Head(*vol);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    base_ = std::make_unique<volume::Snapshot>(*head);
    trees_ = std::make_unique<TreeCache>(store_->objects.get(), 1 << 20);
    chunks_ = std::make_unique<ChunkCache>(store_->objects.get(), 16, 1 << 20);
  }
  void TearDown() override {
    chunks_.reset();
    trees_.reset();
    base_.reset();
    engine_.reset();
    JournalFaultTest::TearDown();
  }

  // Runs a script through a fresh View with `fault` set on its journal's
  // Env; returns how many operations were acknowledged.
  size_t RunView(std::vector<Op>* ops, const std::function<void(core::FaultEnv&)>& fault,
                 Status* failure, bool* crashed) {
    stdfs::remove_all(MountDir());
    core::FaultEnv env(core::Env::Default());
    ViewWriter w(&env, MountDir());
    Status started = w.Start(store_->objects.get(), trees_.get(), chunks_.get(), *base_);
    EXPECT_TRUE(started.ok()) << started.ToString();
    fault(env);
    size_t synced = 0;
    const size_t acked = RunUntilFailure(w, ops, &synced, failure);
    *crashed = env.crashed();
    return acked;
  }

  std::unique_ptr<volume::Engine> engine_;
  std::unique_ptr<volume::Snapshot> base_;
  std::unique_ptr<TreeCache> trees_;
  std::unique_ptr<ChunkCache> chunks_;
};

TEST_F(ViewJournalFaultTest, CrashBetweenEachWriteAndItsJournalAppendThenReplay) {
  int crash_points = 0;
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    for (int64_t step = 1;; ++step) {
      std::vector<Op> ops = Script(seed, kOps);
      Status failure;
      bool crashed = false;
      const size_t acked = RunView(
          &ops, [&](core::FaultEnv& env) { env.CrashAtStep(env.steps() + step); }, &failure,
          &crashed);
      if (acked == ops.size()) break;
      ASSERT_TRUE(crashed) << failure.ToString();
      ++crash_points;
      ExpectAckedOrInFlight(Models(ops), acked,
                            "seed " + std::to_string(seed) + ", View, crash at journal step " +
                                std::to_string(step) + " in: " + Trace(ops, acked));
      if (HasFailure()) return;
    }
  }
  EXPECT_GT(crash_points, kSeeds * 10) << crash_points;
}

TEST_F(ViewJournalFaultTest, FullDiskIsEnospcFromTheViewAndTheJournalReplays) {
  for (uint32_t seed = 1; seed <= 2; ++seed) {
    for (uint64_t room = 0;; room += 11) {
      std::vector<Op> ops = Script(seed, kOps);
      Status failure;
      bool crashed = false;
      const size_t acked = RunView(
          &ops, [&](core::FaultEnv& env) { env.FillDiskAfter(room); }, &failure, &crashed);
      if (acked == ops.size()) break;
      const std::string where = "seed " + std::to_string(seed) +
                                ", View, journal disk full after " + std::to_string(room) +
                                " bytes in: " + Trace(ops, acked);
      EXPECT_EQ(core::ErrnoForStatus(failure), ENOSPC) << where << ": " << failure.ToString();
      ExpectAckedOrInFlight(Models(ops), acked, where);
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace snapvol::fs
