#include "driver/volume/engine.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "driver/core/names.h"
#include "driver/store/object_codec.h"
#include "driver/volume/tree_editor.h"
#include "driver/volume/tree_page.h"

namespace snapvol::volume {
namespace {

Status ValidateVolume(const std::string& env, const std::string& name) {
  RETURN_IF_ERROR(core::ValidateName("environment", env));
  return core::ValidateName("volume", name);
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string Describe(const std::string& env, const std::string& name) {
  return "volume " + Quote(name) + " in environment " + Quote(env);
}

// Rewrites a catalog error so it names the volume and its environment.
Status Named(const Status& s, const std::string& env, const std::string& name,
             const std::string& what) {
  if (s.ok()) return s;
  switch (s.code()) {
    case core::Code::kNotFound:
      return Status::NotFound(Describe(env, name) + " not found");
    case core::Code::kAlreadyExists:
      return Status::AlreadyExists(Describe(env, name) + " already exists");
    default:
      return s.Annotate(what + " " + Describe(env, name));
  }
}

std::string NewVolumeId() {
  // Unique forever, so a deleted and re-created name never sees the old
  // volume's version log or cached objects.
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k) {
      id.push_back(kHex[v & 0xf]);
      v >>= 4;
    }
  }
  return id;
}

// Jittered exponential backoff after losing the race for a version: spreads
// contending writers apart without making a lone retry wait long.
void Backoff(int attempt) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  // Up to 0.5 ms after the first loss, up to 250 ms after many: dozens of
  // writers on two cores spread out instead of colliding every round.
  const int64_t cap_us = std::min<int64_t>(250'000, 500LL << std::min(attempt, 10));
  std::uniform_int_distribution<int64_t> dist(0, cap_us);
  std::this_thread::sleep_for(std::chrono::microseconds(dist(rng)));
}

// When a commit that keeps losing the race for the next version stops.
class RaceBudget {
 public:
  explicit RaceBudget(const CommitOptions& o)
      : max_attempts_(o.max_attempts),
        deadline_(std::chrono::steady_clock::now() + o.give_up_after) {}
  bool Spent(int lost) const {
    return (max_attempts_ > 0 && lost >= max_attempts_) ||
           std::chrono::steady_clock::now() >= deadline_;
  }
  Status GiveUp(const std::string& volume, int lost) const {
    return Status::Aborted("commit to " + volume + " lost the race for the next version " +
                           std::to_string(lost) + " times; giving up");
  }

 private:
  int max_attempts_;
  std::chrono::steady_clock::time_point deadline_;
};

bool SameEntry(const objects::Entry& a, const objects::Entry& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// The commit object for version head.version + 1 with `root` (no summary).
objects::Commit NewCommit(const VolumeRecord& volume, const Snapshot& head,
                          const objects::Entry& root, uint64_t inodes, int64_t now,
                          const CommitOptions& options) {
  objects::Commit commit;
  commit.set_volume_id(volume.id);
  commit.set_environment(volume.environment);
  commit.set_volume_name(volume.name);
  commit.set_version(head.version + 1);
  if (head.version > 0) commit.set_parent(std::string(head.commit_hash.Bytes()));
  *commit.mutable_root() = root;
  commit.set_time_ns(now);
  *commit.mutable_author() = options.author;
  commit.set_message(options.message);
  commit.set_inodes(inodes);
  commit.set_bytes(root.subtree_bytes());
  return commit;
}

}  // namespace

Engine::Engine(store::Store* store, core::Env* env)
    : store_(store), env_(env), reader_(store->objects.get()) {}

std::string Engine::Describe(const VolumeRecord& volume) {
  return volume::Describe(volume.environment, volume.name);
}

Status Engine::CreateEnvironment(const std::string& name) {
  RETURN_IF_ERROR(core::ValidateName("environment", name));
  Status s = store_->catalog->CreateEnvironment(name, env_->NowNanos());
  if (s.Is(core::Code::kAlreadyExists)) {
    return Status::AlreadyExists("environment " + Quote(name) + " already exists");
  }
  return s;
}

Result<std::vector<EnvironmentRecord>> Engine::ListEnvironments() {
  return store_->catalog->ListEnvironments();
}

Status Engine::DeleteEnvironment(const std::string& name, bool force) {
  RETURN_IF_ERROR(core::ValidateName("environment", name));
  if (name == store::kDefaultEnvironment) {
    return Status::FailedPrecondition("environment " + Quote(name) +
                                      " is the default environment and cannot be deleted");
  }
  ASSIGN_OR_RETURN(bool exists, store_->catalog->EnvironmentExists(name));
  if (!exists) return Status::NotFound("environment " + Quote(name) + " not found");
  ASSIGN_OR_RETURN(std::vector<VolumeRecord> volumes, store_->catalog->ListVolumes(name));
  if (!volumes.empty() && !force) {
    return Status::FailedPrecondition("environment " + Quote(name) + " still holds " +
                                      std::to_string(volumes.size()) +
                                      " volume(s); delete them first or force");
  }
  for (const VolumeRecord& v : volumes) {
    Status s = store_->catalog->DeleteVolume(name, v.name);
    // A volume deleted concurrently is gone either way.
    if (!s.ok() && !s.Is(core::Code::kNotFound)) return Named(s, name, v.name, "deleting");
  }
  Status s = store_->catalog->DeleteEnvironment(name);
  if (s.Is(core::Code::kNotFound)) {
    return Status::NotFound("environment " + Quote(name) + " not found");
  }
  return s;
}

Result<VolumeRecord> Engine::CreateVolume(const std::string& env, const std::string& name,
                                          const CreateVolumeOptions& options) {
  RETURN_IF_ERROR(ValidateVolume(env, name));
  if (options.inode_limit == 0) {
    return Status::InvalidArgument("inode limit of " + volume::Describe(env, name) +
                                   " must be at least 1");
  }
  ASSIGN_OR_RETURN(bool env_exists, store_->catalog->EnvironmentExists(env));
  if (!env_exists) {
    return Status::NotFound("cannot create " + volume::Describe(env, name) + ": environment " +
                            Quote(env) + " not found");
  }
  VolumeRecord record;
  record.environment = env;
  record.name = name;
  record.id = NewVolumeId();
  record.created_ns = env_->NowNanos();
  record.inode_limit = options.inode_limit;
  Status s = store_->catalog->CreateVolume(record);
  if (s.Is(core::Code::kAlreadyExists) && options.if_missing) return GetVolume(env, name);
  if (s.Is(core::Code::kNotFound)) {
    return Status::NotFound("cannot create " + volume::Describe(env, name) + ": environment " +
                            Quote(env) + " not found");
  }
  RETURN_IF_ERROR(Named(s, env, name, "creating"));
  return record;
}

Result<VolumeRecord> Engine::GetVolume(const std::string& env, const std::string& name) {
  RETURN_IF_ERROR(ValidateVolume(env, name));
  Result<VolumeRecord> r = store_->catalog->GetVolume(env, name);
  if (!r.ok()) return Named(r.status(), env, name, "reading");
  return r;
}

Result<std::vector<VolumeRecord>> Engine::ListVolumes(const std::string& env) {
  RETURN_IF_ERROR(core::ValidateName("environment", env));
  Result<std::vector<VolumeRecord>> r = store_->catalog->ListVolumes(env);
  if (r.status().Is(core::Code::kNotFound)) {
    return Status::NotFound("environment " + Quote(env) + " not found");
  }
  return r;
}

Result<std::vector<store::MountRecord>> Engine::LiveMounts(const VolumeRecord& volume) {
  ASSIGN_OR_RETURN(std::vector<store::MountRecord> all, store_->catalog->ListMounts(volume.id));
  const std::string host = HostName();
  std::vector<store::MountRecord> live;
  for (store::MountRecord& m : all) {
    if (m.host == host) {
      const bool running =
          m.pid > 0 && (::kill(static_cast<pid_t>(m.pid), 0) == 0 || errno == EPERM);
      struct stat st;
      const bool state = !m.state_dir.empty() && ::stat(m.state_dir.c_str(), &st) == 0;
      if (!running && !state) {
        (void)store_->catalog->RemoveMount(m.mount_id);  // gone cleanly, record left behind
        continue;
      }
    }
    live.push_back(std::move(m));  // another host's: cannot tell, so assume it is there
  }
  return live;
}

Status Engine::DeleteVolume(const std::string& env, const std::string& name, bool force) {
  RETURN_IF_ERROR(ValidateVolume(env, name));
  if (!force) {
    Result<VolumeRecord> v = store_->catalog->GetVolume(env, name);
    if (!v.ok()) return Named(v.status(), env, name, "deleting");
    ASSIGN_OR_RETURN(std::vector<store::MountRecord> mounts, LiveMounts(*v));
    if (!mounts.empty()) {
      std::string list;
      for (const store::MountRecord& m : mounts) {
        if (!list.empty()) list += ", ";
        list += "'" + m.mountpoint + "' (mount " + m.mount_id + ", pid " + std::to_string(m.pid) +
                " on " + m.host + ")";
      }
      return Status::FailedPrecondition(
          volume::Describe(env, name) +
          " is mounted or has unrecovered changes of a mount: " + list +
          "; unmount it (or run `snapvol recover`) first, or force the delete (its pending "
          "changes then go only to another volume with `snapvol recover --into VOLUME`)");
    }
  }
  return Named(store_->catalog->DeleteVolume(env, name), env, name, "deleting");
}

Status Engine::RenameVolume(const std::string& env, const std::string& from,
                            const std::string& to) {
  RETURN_IF_ERROR(ValidateVolume(env, from));
  RETURN_IF_ERROR(core::ValidateName("volume", to));
  Status s = store_->catalog->RenameVolume(env, from, to);
  if (s.Is(core::Code::kAlreadyExists)) {
    return Status::AlreadyExists("cannot rename " + volume::Describe(env, from) + " to " +
                                 Quote(to) + ": " + volume::Describe(env, to) + " already exists");
  }
  return Named(s, env, from, "renaming");
}

Result<objects::Entry> Engine::EmptyRoot() {
  ASSIGN_OR_RETURN(Hash tree, TreeReader::EmptyTree(*store_->objects));
  objects::Entry root;
  root.set_type(objects::DIRECTORY);
  root.set_mode(0755);
  root.set_tree(std::string(tree.Bytes()));
  return root;
}

Result<Snapshot> Engine::AtVersion(const VolumeRecord& volume, uint64_t version) {
  Snapshot snap;
  snap.volume = volume;
  if (version == 0) {
    objects::Commit& c = snap.commit;
    c.set_volume_id(volume.id);
    // Attach writes nothing (read-only users can attach too): the empty
    // tree is answered by TreeReader without a fetch, and the first commit
    // stores whatever pages it needs.
    objects::Entry* root = c.mutable_root();
    root->set_type(objects::DIRECTORY);
    root->set_mode(0755);
    root->set_tree(std::string(EmptyTreeHash().Bytes()));
    c.set_time_ns(volume.created_ns);
    c.set_inodes(1);
    return snap;
  }
  Result<store::VersionRecord> rec = store_->catalog->GetVersion(volume.id, version);
  if (rec.status().Is(core::Code::kNotFound)) {
    return Status::NotFound("version " + std::to_string(version) + " of " + Describe(volume) +
                            " not found");
  }
  if (!rec.ok()) return rec.status().Annotate("reading " + Describe(volume));
  Result<objects::Commit> commit = store::GetCommit(*store_->objects, rec->commit);
  if (!commit.ok()) {
    return commit.status().Annotate("reading version " + std::to_string(version) + " of " +
                                    Describe(volume));
  }
  if (commit->volume_id() != volume.id || commit->version() != version) {
    return Status::Corruption("version " + std::to_string(version) + " of " + Describe(volume) +
                              " names commit " + rec->commit.Hex() +
                              " of another volume or version");
  }
  snap.version = version;
  snap.commit_hash = rec->commit;
  snap.commit = std::move(commit).value();
  return snap;
}

Result<Snapshot> Engine::Head(const VolumeRecord& volume) {
  Result<std::optional<store::VersionRecord>> latest = store_->catalog->LatestVersion(volume.id);
  if (!latest.ok()) return latest.status().Annotate("reading the head of " + Describe(volume));
  if (!latest->has_value()) return AtVersion(volume, 0);
  // AtVersion re-reads the record; a version record never changes, so read
  // the commit straight from the one we have.
  const store::VersionRecord& rec = **latest;
  Result<objects::Commit> commit = store::GetCommit(*store_->objects, rec.commit);
  if (!commit.ok()) {
    return commit.status().Annotate("reading version " + std::to_string(rec.version) + " of " +
                                    Describe(volume));
  }
  if (commit->volume_id() != volume.id || commit->version() != rec.version) {
    return Status::Corruption("head of " + Describe(volume) + " names commit " + rec.commit.Hex() +
                              " of another volume or version");
  }
  Snapshot snap;
  snap.volume = volume;
  snap.version = rec.version;
  snap.commit_hash = rec.commit;
  snap.commit = std::move(commit).value();
  return snap;
}

Result<std::vector<Snapshot>> Engine::Log(const VolumeRecord& volume, size_t limit) {
  std::vector<Snapshot> out;
  ASSIGN_OR_RETURN(std::optional<store::VersionRecord> latest,
                   store_->catalog->LatestVersion(volume.id));
  if (!latest) return out;
  uint64_t newest = latest->version;
  uint64_t from = (limit == 0 || limit >= newest) ? 1 : newest - limit + 1;
  ASSIGN_OR_RETURN(std::vector<store::VersionRecord> records,
                   store_->catalog->ListVersions(volume.id, from, newest - from + 1));
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (it->version > newest) continue;  // landed after we read the head
    Snapshot snap;
    snap.volume = volume;
    snap.version = it->version;
    snap.commit_hash = it->commit;
    Result<objects::Commit> commit = store::GetCommit(*store_->objects, it->commit);
    if (commit.ok()) {
      snap.commit = std::move(commit).value();
    } else {
      snap.error = commit.status().Annotate("reading version " + std::to_string(it->version) +
                                            " of " + Describe(volume));
    }
    out.push_back(std::move(snap));
  }
  return out;
}

Result<std::optional<objects::Entry>> Engine::Lookup(const Snapshot& snap, const Path& path) {
  return reader_.Resolve(snap.root(), path);
}

Result<CommitResult> Engine::Commit(const VolumeRecord& volume, const ChangeSet& changes,
                                    const CommitOptions& options) {
  CommitResult result;
  if (changes.empty()) {
    ASSIGN_OR_RETURN(Snapshot head, Head(volume));
    result.version = head.version;
    result.commit = head.commit_hash;
    result.empty = true;
    return result;
  }
  // The file content the change set references was Put by the caller; make
  // it durable before the race for the next version, so each attempt only
  // flushes its few tree pages and the commit object.
  Status content_flushed = store_->objects->Flush();
  if (!content_flushed.ok()) return content_flushed.Annotate("committing to " + Describe(volume));
  RaceBudget budget(options);
  for (int attempt = 1;; ++attempt) {
    result.attempts = attempt;
    ASSIGN_OR_RETURN(Snapshot head, Head(volume));
    const int64_t now = env_->NowNanos();

    // S6: the change set is applied to the head as it is now, not to the
    // writer's base, so every attempt starts over from the tree.
    TreeEditor editor(store_->objects.get(), head.root(), now);
    for (const ChangeOp& op : changes.ops()) {
      Status s = editor.Apply(op);
      if (!s.ok()) return s.Annotate("committing to " + Describe(volume));
    }
    Result<objects::Entry> root = editor.Finish();
    if (!root.ok()) return root.status().Annotate("committing to " + Describe(volume));
    const ApplyStats& stats = editor.stats();
    result.skipped = stats.skipped;
    if (SameEntry(*root, head.root())) {
      result.version = head.version;
      result.commit = head.commit_hash;
      result.empty = true;
      return result;
    }

    const uint64_t inodes = root->subtree_inodes() + 1;
    // Deletes must stay possible on a volume already over its limit (e.g.
    // after the limit was lowered), so only growth is refused.
    if (inodes > volume.inode_limit && inodes > head.inodes()) {
      return Status::ResourceExhausted(Describe(volume) + " would hold " + std::to_string(inodes) +
                                       " inodes, over its limit of " +
                                       std::to_string(volume.inode_limit));
    }

    objects::Commit commit = NewCommit(volume, head, *root, inodes, now, options);
    objects::ChangeSummary* sum = commit.mutable_summary();
    sum->set_added(stats.added);
    sum->set_modified(stats.modified);
    sum->set_deleted(stats.deleted);
    sum->set_renamed(stats.renamed);
    sum->set_bytes_written(changes.bytes_written());
    for (const std::string& s : stats.sample) sum->add_sample(s);
    ASSIGN_OR_RETURN(bool landed, Land(volume, commit, &result));
    if (landed) return result;
    if (budget.Spent(attempt)) return budget.GiveUp(Describe(volume), attempt);
    Backoff(attempt);
  }
}

Result<bool> Engine::Land(const VolumeRecord& volume, const objects::Commit& commit,
                          CommitResult* result) {
  Result<Hash> id = store::PutCommit(*store_->objects, commit);
  if (!id.ok()) return id.status().Annotate("committing to " + Describe(volume));
  // If another writer already took the version, this attempt cannot land:
  // skip the flush and start over (one cheap read instead of syncs).
  Result<std::optional<store::VersionRecord>> now_head = store_->catalog->LatestVersion(volume.id);
  if (!now_head.ok()) return now_head.status().Annotate("committing to " + Describe(volume));
  if (now_head->has_value() && (*now_head)->version + 1 != commit.version()) return false;
  // Every object the version record will name must be durable first (S9).
  Status flushed = store_->objects->Flush();
  if (!flushed.ok()) return flushed.Annotate("committing to " + Describe(volume));

  store::VersionRecord record;
  record.version = commit.version();
  record.commit = *id;
  record.time_ns = commit.time_ns();
  Result<bool> appended = store_->catalog->AppendVersion(volume.id, record);
  if (!appended.ok()) return appended.status().Annotate("committing to " + Describe(volume));
  if (!*appended) return false;
  result->version = record.version;
  result->commit = *id;
  result->summary = commit.summary();
  return true;
}

Result<Snapshot> Engine::HeadToReplace(const VolumeRecord& volume, bool over_unreadable) {
  Result<Snapshot> read = Head(volume);
  if (read.ok() || !over_unreadable || !read.status().Is(core::Code::kCorruption)) return read;
  // The version and hash of the damaged head come from the version log; its
  // content is unknown, so nothing equals it.
  ASSIGN_OR_RETURN(std::optional<store::VersionRecord> latest,
                   store_->catalog->LatestVersion(volume.id));
  if (!latest) return read;
  Snapshot damaged;
  damaged.volume = volume;
  damaged.version = latest->version;
  damaged.commit_hash = latest->commit;
  return damaged;
}

Result<CommitResult> Engine::CommitRoot(const VolumeRecord& volume, const objects::Entry& root,
                                        const CommitOptions& options,
                                        std::optional<uint64_t> expected_head) {
  if (root.type() != objects::DIRECTORY) {
    return Status::InvalidArgument("cannot commit a root that is not a directory to " +
                                   Describe(volume));
  }
  Result<Hash> tree = TreeOf(root);
  if (!tree.ok()) return tree.status().Annotate("committing a root to " + Describe(volume));
  if (!IsEmptyTree(*tree)) {
    Result<bool> present = store_->objects->Contains(*tree, store::ObjectKind::kTree);
    if (!present.ok()) return present.status().Annotate("committing a root to " + Describe(volume));
    if (!*present) {
      return Status::NotFound("tree " + tree->Hex() + " to commit as the root of " +
                              Describe(volume) + " is not in the store");
    }
  }
  const uint64_t inodes = root.subtree_inodes() + 1;
  CommitResult result;
  RaceBudget budget(options);
  for (int attempt = 1;; ++attempt) {
    result.attempts = attempt;
    ASSIGN_OR_RETURN(Snapshot head, HeadToReplace(volume, options.over_unreadable_head));
    if (expected_head && head.version != *expected_head) {
      return Status::FailedPrecondition(Describe(volume) + " is at version " +
                                        std::to_string(head.version) + ", not " +
                                        std::to_string(*expected_head) + "; root not committed");
    }
    if (SameEntry(root, head.root())) {
      result.version = head.version;
      result.commit = head.commit_hash;
      result.empty = true;
      return result;
    }
    if (inodes > volume.inode_limit && inodes > head.inodes()) {
      return Status::ResourceExhausted(Describe(volume) + " would hold " + std::to_string(inodes) +
                                       " inodes, over its limit of " +
                                       std::to_string(volume.inode_limit));
    }
    objects::Commit commit = NewCommit(volume, head, root, inodes, env_->NowNanos(), options);
    ASSIGN_OR_RETURN(bool landed, Land(volume, commit, &result));
    if (landed) return result;
    if (budget.Spent(attempt)) return budget.GiveUp(Describe(volume), attempt);
    Backoff(attempt);
  }
}

Result<CommitResult> Engine::Rollback(const VolumeRecord& volume, uint64_t version,
                                      CommitOptions options) {
  ASSIGN_OR_RETURN(Snapshot target, AtVersion(volume, version));
  objects::Entry root = target.root();
  if (options.message.empty()) options.message = "rollback to version " + std::to_string(version);
  options.over_unreadable_head = true;
  return CommitRoot(volume, root, options);
}

namespace {

std::string UserName(uid_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

objects::Author HostAuthor(const std::string& tool) {
  objects::Author a;
  a.set_tool(tool);
  a.set_host(HostName());
  return a;
}

}  // namespace

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "";
  return host;
}

objects::Author DefaultAuthor(const std::string& tool) {
  objects::Author a = HostAuthor(tool);
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    a.set_user(found->pw_name);
  } else if (const char* user = std::getenv("USER"); user != nullptr) {
    a.set_user(user);
  } else {
    a.set_user(std::to_string(::geteuid()));
  }
  return a;
}

objects::Author AuthorAs(const std::string& tool, uint32_t uid) {
  objects::Author a = HostAuthor(tool);
  a.set_user(UserName(uid));
  return a;
}

}  // namespace snapvol::volume
