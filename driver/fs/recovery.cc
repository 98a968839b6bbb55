#include "driver/fs/recovery.h"

#include <chrono>
#include <filesystem>
#include <map>

#include "driver/core/env.h"
#include "driver/core/names.h"
#include "driver/fs/control_json.h"
#include "driver/fs/journal.h"
#include "driver/fs/state_layout.h"
#include "driver/fs/upper_file.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;
using volume::ChangeOp;
using volume::Path;

Path PathOf(const google::protobuf::RepeatedPtrField<std::string>& parts) {
  return Path(parts.begin(), parts.end());
}

// A mount directory being removed is first renamed to this prefix + its id:
// from then on no recoverer finds it by its id (see Discard).
constexpr char kGonePrefix[] = ".gone-";

// How long a directory without mount.json may be a server that is starting
// (it has created the directory but not yet taken its lock). The window is
// two system calls; older ones are from a server that died starting.
constexpr auto kStartupGrace = std::chrono::minutes(10);

// Removes the mount directory `id`. Called with its lock held: it is renamed
// away first, so a recoverer that listed it before can no longer lock it
// (the lock file is gone with it) or read a half-removed journal and commit
// it a second time; then it is deleted, and a leftover of a recoverer that
// died meanwhile is deleted by the next one.
void Discard(const StateLayout& state, const std::string& id) {
  std::error_code ec;
  const std::string gone = state.MountsDir() + "/" + kGonePrefix + id;
  stdfs::rename(state.MountDir(id), gone, ec);
  stdfs::remove_all(ec ? state.MountDir(id) : gone, ec);
}

bool OlderThanStartup(const std::string& dir) {
  std::error_code ec;
  const stdfs::file_time_type changed = stdfs::last_write_time(dir, ec);
  return !ec && stdfs::file_time_type::clock::now() - changed > kStartupGrace;
}

}  // namespace

Result<volume::ChangeSet> ReplayMountDir(const std::string& mount_dir,
                                         store::ObjectStore* objects) {
  const MountDirLayout layout(mount_dir);
  ASSIGN_OR_RETURN(std::vector<uint64_t> gens, Journal::List(mount_dir));
  volume::ChangeSet changes;
  // Each upper file is chunked once, however many records name it.
  std::map<uint64_t, std::optional<UpperFile::Snap>> uppers;
  for (uint64_t gen : gens) {
    ASSIGN_OR_RETURN(JournalContents contents, ReadJournalFile(layout.JournalFile(gen)));
    for (const mount::JournalRecord& rec : contents.records) {
      ChangeOp op;
      op.path = PathOf(rec.path());
      const bool root = op.path.empty();
      switch (rec.op()) {
        case mount::JournalRecord::PUT: {
          if (root) continue;
          op.kind = ChangeOp::Kind::kPut;
          op.entry = rec.entry();
          if (rec.upper() != 0) {
            auto it = uppers.find(rec.upper());
            if (it == uppers.end()) {
              std::optional<UpperFile::Snap> snap;
              Result<std::shared_ptr<UpperFile>> f =
                  UpperFile::Open(layout.UpperFile(rec.upper()), rec.upper());
              if (f.ok()) {
                ASSIGN_OR_RETURN(snap, (*f)->Snapshot(objects, 1));
              } else if (!f.status().Is(core::Code::kNotFound)) {
                return f.status();
              }
              it = uppers.emplace(rec.upper(), std::move(snap)).first;
            }
            if (!it->second) continue;  // deleted later in the journal
            *op.entry.mutable_content() = it->second->content;
            op.entry.set_size(it->second->size);
            changes.add_bytes_written(it->second->size);
          }
          break;
        }
        case mount::JournalRecord::MKDIR:
          // The root's own record (its xattrs changed) applies to the
          // existing root, as a commit's does.
          op.kind = ChangeOp::Kind::kMkdir;
          op.entry = rec.entry();
          op.set_xattrs = rec.xattrs();
          break;
        case mount::JournalRecord::DELETE:
          if (root) continue;
          op.kind = ChangeOp::Kind::kDelete;
          break;
        case mount::JournalRecord::SETATTR:
          op.kind = ChangeOp::Kind::kSetAttr;
          if (rec.has_mode()) op.attrs.mode = rec.mode();
          if (rec.has_uid()) op.attrs.uid = rec.uid();
          if (rec.has_gid()) op.attrs.gid = rec.gid();
          if (rec.has_mtime_ns()) op.attrs.mtime_ns = rec.mtime_ns();
          if (rec.has_size()) op.attrs.size = rec.size();
          break;
        case mount::JournalRecord::RENAME:
          if (root || rec.to().empty()) continue;
          op.kind = ChangeOp::Kind::kRename;
          op.to = PathOf(rec.to());
          break;
        default:
          continue;
      }
      changes.Add(std::move(op));
    }
  }
  return changes;
}

Result<RecoverReport> RecoverMounts(volume::Engine& engine, const std::string& state_dir,
                                    const std::string& skip_id) {
  RecoverReport report;
  const StateLayout state(state_dir);
  std::error_code ec;
  if (!stdfs::exists(state.MountsDir(), ec)) return report;
  std::vector<std::string> ids;
  for (const auto& d : stdfs::directory_iterator(state.MountsDir(), ec)) {
    if (d.is_directory()) ids.push_back(d.path().filename().string());
  }
  if (ec) return Status::FromErrno(ec.value(), "listing " + state.MountsDir());
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    if (id == skip_id) continue;
    if (id.starts_with(kGonePrefix)) {
      stdfs::remove_all(state.MountsDir() + "/" + id, ec);
      continue;
    }
    const MountDirLayout layout(state.MountDir(id));
    // A server creates its directory, then takes its lock, then writes
    // mount.json. Without mount.json it may be starting, and taking its
    // lock would fail its startup; it has nothing pending either way.
    Result<bool> has_info = engine.env()->FileExists(layout.InfoFile());
    if (!has_info.ok()) continue;
    if (!*has_info) {
      if (!OlderThanStartup(layout.dir())) continue;
      Result<std::unique_ptr<core::FileLock>> lock = engine.env()->TryLockFile(layout.LockFile());
      if (lock.ok()) Discard(state, id);
      continue;
    }
    Result<std::unique_ptr<core::FileLock>> lock = engine.env()->TryLockFile(layout.LockFile());
    if (!lock.ok()) continue;  // its server is alive (or it was recovered and removed meanwhile)
    RecoveredMount rm;
    rm.mount_id = id;
    Result<std::string> text = engine.env()->ReadFile(layout.InfoFile());
    if (!text.ok()) continue;  // removed by a recoverer that finished it meanwhile
    Result<MountInfo> info = DecodeMountInfo(*text);
    if (!info.ok()) {
      rm.error = info.status().ToString();
      report.mounts.push_back(std::move(rm));
      continue;
    }
    rm.environment = info->environment;
    rm.volume = info->volume;
    rm.mountpoint = info->mountpoint;
    Result<volume::VolumeRecord> vol = engine.GetVolume(info->environment, info->volume);
    if (!vol.ok() || vol->id != info->volume_id) {
      rm.error = vol.ok() ? "volume '" + info->volume + "' in environment '" + info->environment +
                                "' was deleted and re-created"
                          : vol.status().ToString();
      report.mounts.push_back(std::move(rm));
      continue;
    }
    Result<volume::ChangeSet> changes = ReplayMountDir(layout.dir(), engine.store().objects.get());
    if (!changes.ok()) {
      rm.error = changes.status().ToString();
      report.mounts.push_back(std::move(rm));
      continue;
    }
    volume::CommitOptions opts;
    opts.author = volume::DefaultAuthor("recover");
    opts.message = "recovered changes of mount " + id + " (" + info->mountpoint + ")";
    Result<volume::CommitResult> result = engine.Commit(*vol, *changes, opts);
    if (!result.ok()) {
      rm.error = result.status().ToString();
      report.mounts.push_back(std::move(rm));
      continue;
    }
    rm.committed = true;
    rm.commit.version = result->version;
    rm.commit.empty = result->empty;
    rm.commit.changes = changes->size();
    rm.commit.attempts = result->attempts;
    rm.commit.trigger = "recover";
    Discard(state, id);
    (void)engine.store().catalog->RemoveMount(id);
    lock->reset();
    report.mounts.push_back(std::move(rm));
  }
  return report;
}

namespace {

// Locks dead mount `id`'s state (its server must be gone).
Result<std::unique_ptr<core::FileLock>> LockDeadMount(volume::Engine& engine,
                                                      const StateLayout& state,
                                                      const std::string& id) {
  RETURN_IF_ERROR(core::ValidateComponent(id).Annotate("mount id"));
  const MountDirLayout layout(state.MountDir(id));
  ASSIGN_OR_RETURN(bool exists, engine.env()->FileExists(layout.InfoFile()));
  if (!exists) return Status::NotFound("no state of a mount " + id + " in " + state.MountsDir());
  Result<std::unique_ptr<core::FileLock>> lock = engine.env()->TryLockFile(layout.LockFile());
  if (!lock.ok()) {
    return Status::FailedPrecondition("mount " + id + " is still served (its lock is held)");
  }
  return lock;
}

}  // namespace

Result<volume::CommitResult> RecoverMountInto(volume::Engine& engine, const std::string& state_dir,
                                              const std::string& mount_id,
                                              const volume::VolumeRecord& into) {
  const StateLayout state(state_dir);
  ASSIGN_OR_RETURN(std::unique_ptr<core::FileLock> lock, LockDeadMount(engine, state, mount_id));
  ASSIGN_OR_RETURN(volume::ChangeSet changes,
                   ReplayMountDir(state.MountDir(mount_id), engine.store().objects.get()));
  volume::CommitOptions opts;
  opts.author = volume::DefaultAuthor("recover");
  opts.message = "changes of mount " + mount_id + ", recovered into this volume";
  ASSIGN_OR_RETURN(volume::CommitResult result, engine.Commit(into, changes, opts));
  Discard(state, mount_id);
  (void)engine.store().catalog->RemoveMount(mount_id);
  return result;
}

Status DiscardMount(volume::Engine& engine, const std::string& state_dir,
                    const std::string& mount_id) {
  const StateLayout state(state_dir);
  ASSIGN_OR_RETURN(std::unique_ptr<core::FileLock> lock, LockDeadMount(engine, state, mount_id));
  Discard(state, mount_id);
  return engine.store().catalog->RemoveMount(mount_id);
}

}  // namespace snapvol::fs
