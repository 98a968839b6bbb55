#include "driver/store/local/local_object_store.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <vector>

#include "driver/store/local/verified_memo.h"

namespace snapvol::store {
namespace {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::getrandom(raw.data() + done, bytes - done, 0);
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

const Hash& EmptyObject() {
  static const Hash h = Hash::Of("");
  return h;
}

// Not cached in a thread_local: after fork() the child's copy would be stale.
uint64_t ThreadId() { return static_cast<uint64_t>(::gettid()); }

std::string Describe(const Hash& id, ObjectKind kind) {
  return std::string(ObjectKindName(kind)) + " object " + id.Hex();
}

}  // namespace

LocalObjectStore::LocalObjectStore(LocalLayout layout, core::Env* env,
                                   LocalObjectStoreOptions options, std::string owner)
    : layout_(std::move(layout)), env_(env), options_(options), owner_(std::move(owner)) {}

LocalObjectStore::~LocalObjectStore() {
  if (owner_lock_ != nullptr) {
    // Unlink before releasing: once released, a cleaner in another process
    // may lock this very file, and a later unlink would pull it from under it.
    (void)env_->RemoveFile(layout_.LockFile(owner_));
    owner_lock_.reset();
  }
}

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Open(const std::string& root,
                                                                 core::Env* env,
                                                                 LocalObjectStoreOptions options) {
  if (root.empty()) return Status::InvalidArgument("local store path is empty");
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(root, ec);
  if (ec) return Status::InvalidArgument("cannot resolve store path '" + root + "'");
  std::string normal = abs.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();

  std::string owner = std::to_string(::getpid()) + "-" + RandomHex(8);
  std::unique_ptr<LocalObjectStore> store(
      new LocalObjectStore(LocalLayout(normal), env, options, std::move(owner)));
  const LocalLayout& layout = store->layout_;

  RETURN_IF_ERROR(env->CreateDirs(normal).Annotate("create store directory"));
  auto format = env->ReadFile(layout.FormatFile());
  if (format.ok()) {
    RETURN_IF_ERROR(layout.CheckFormat(*format));
    RETURN_IF_ERROR(store->AcquireOwnerLock());
  } else if (format.status().Is(core::Code::kNotFound)) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(normal));
    for (const auto& name : names) {
      if (!LocalLayout::IsLayoutName(name)) {
        return Status::FailedPrecondition(
            "directory " + normal + " is not a snapvol store (no FORMAT file) and is not empty ('" +
            name + "'); pass an empty or new directory");
      }
    }
    RETURN_IF_ERROR(store->CreateLayout().Annotate("create store layout in " + normal));
  } else {
    return format.status().Annotate("open store " + normal);
  }
  store->CleanStaleTemps();
  return store;
}

Status LocalObjectStore::CreateLayout() {
  // objects/<xx> directories are created on first use: 256 mkdirs up front
  // cost more than a whole small store (and most stay empty in tests).
  RETURN_IF_ERROR(env_->CreateDir(layout_.ObjectsDir()));
  RETURN_IF_ERROR(env_->CreateDir(layout_.TmpDir()));
  RETURN_IF_ERROR(env_->CreateDir(layout_.QuarantineDir()));
  RETURN_IF_ERROR(env_->SyncDir(layout_.root()));
  RETURN_IF_ERROR(AcquireOwnerLock());
  // FORMAT goes last: a store with FORMAT has its whole layout durable.
  // Concurrent creators race harmlessly (identical content, atomic rename).
  std::string tmp = layout_.TempFile(owner_, ThreadId(), next_temp_.fetch_add(1));
  ASSIGN_OR_RETURN(auto file, env_->NewWritableFile(tmp));
  Status s = file->Append(LocalLayout::FormatFileContent());
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = file->Close();
  if (s.ok()) s = env_->RenameFile(tmp, layout_.FormatFile());
  if (!s.ok()) {
    (void)env_->RemoveFile(tmp);
    return s;
  }
  return env_->SyncDir(layout_.root());
}

Status LocalObjectStore::AcquireOwnerLock() {
  // A cleaner (CleanStaleTemps of another instance) judges an owner dead when
  // it can lock the owner's lock file. Creating that file and locking it are
  // two steps, so without tmp.lock this interleaving (seen as 1 failure in
  // 1,000 concurrent `snapvol volume put`s) made a starting instance fail:
  //
  //   A (starting)                     C (cleaning)
  //   open(tmp/A.lock, O_CREAT)
  //                                    ListDir(tmp/) -> A.lock
  //                                    TryLockFile(A.lock) -> granted
  //   flock(A.lock) -> EWOULDBLOCK:
  //     "lock file ... is held by another process"
  //                                    unlink(A.lock), unlock
  //
  // Retrying only narrowed it: every cleaner that listed A.lock could take
  // the next file A (or the cleaner itself, by O_CREAT) put under that name,
  // and a cleaner preempted while holding it (1,000 processes on 2 cores)
  // outlasted the 2 s of retries. Now A holds tmp.lock shared from before it
  // creates its lock file until it holds it, and cleaners hold tmp.lock
  // exclusively while they probe and remove: a cleaner never locks a file that
  // its owner has not locked yet, so the one attempt below cannot meet a
  // cleaner. A waits at most for one cleaner's pass (which never waits).
  auto guard = env_->LockFileShared(layout_.TmpLockFile());
  if (!guard.ok()) return guard.status().Annotate("lock store " + layout_.root());
  std::string path = layout_.LockFile(owner_);
  auto lock = env_->TryLockFile(path);
  if (!lock.ok() && lock.status().Is(core::Code::kNotFound)) {
    RETURN_IF_ERROR(env_->CreateDir(layout_.TmpDir()));
    lock = env_->TryLockFile(path);
  }
  if (!lock.ok()) return lock.status().Annotate("lock store " + layout_.root());
  owner_lock_ = std::move(lock).value();
  return Status::Ok();
}

void LocalObjectStore::CleanStaleTemps() {
  auto names = env_->ListDir(layout_.TmpDir());
  if (!names.ok()) return;
  std::map<std::string, std::vector<std::string>> by_owner;
  for (const auto& name : *names) {
    std::string owner(LocalLayout::TempOwner(name));
    if (owner != owner_) by_owner[owner].push_back(name);
  }
  if (by_owner.empty()) return;
  // Without waiting: if an instance is taking its owner lock or another
  // cleaner is at work, leave the garbage to a later open. The listing may
  // predate the lock; that is harmless, as each owner is judged below by
  // its lock file, under tmp.lock.
  auto guard = env_->TryLockFile(layout_.TmpLockFile());
  if (!guard.ok()) return;
  for (const auto& [owner, files] : by_owner) {
    // Held → its instance is alive and may still rename these files.
    // Acquired → it exited or crashed (an instance locks before it writes
    // any temp file, so temps without a lock file are orphans too).
    auto lock = env_->TryLockFile(layout_.LockFile(owner));
    if (!lock.ok()) continue;
    std::string lock_name = owner + ".lock";
    for (const auto& f : files) {
      if (f != lock_name) (void)env_->RemoveFile(layout_.TmpDir() + "/" + f);
    }
    (void)env_->RemoveFile(layout_.LockFile(owner));
  }
}

Status LocalObjectStore::WriteTemp(const std::string& tmp, std::string_view data) {
  // Large objects (chunks) bypass the page cache: copying gigabytes into it
  // is the main cost of a big put (on VMs especially) and evicts useful
  // pages; the writes start at once, so Flush mostly waits for finished I/O.
  // Small objects are cheaper buffered and written back in bulk by Flush.
  bool large = data.size() >= options_.direct_io_min_bytes;
  ASSIGN_OR_RETURN(auto file,
                   large ? env_->NewDirectWritableFile(tmp) : env_->NewWritableFile(tmp));
  RETURN_IF_ERROR(file->Append(data));
  if (large) RETURN_IF_ERROR(file->StartWriteback());  // only matters without O_DIRECT
  return file->Close();
}

Status LocalObjectStore::RenameIntoPlace(const std::string& tmp, const Hash& id,
                                         const std::string& path) {
  Status s = env_->RenameFile(tmp, path);
  if (s.Is(core::Code::kNotFound)) {
    // First object with this prefix: create objects/<xx>. Flush() syncs
    // objects/ so the new directory entry is durable with the object.
    RETURN_IF_ERROR(env_->CreateDir(layout_.ObjectDir(id.raw()[0])));
    s = env_->RenameFile(tmp, path);
  }
  return s;
}

void LocalObjectStore::MarkPending(const Hash& id) {
  std::lock_guard<std::mutex> l(mu_);
  pending_.insert(id);
  pending_dirs_.set(id.raw()[0]);
}

Status LocalObjectStore::Put(const Hash& id, ObjectKind kind, std::string_view data) {
  Hash actual = Hash::Of(data);
  if (actual != id) {
    return Status::InvalidArgument("put of " + Describe(id, kind) + " rejected: its " +
                                   std::to_string(data.size()) + " bytes hash to " + actual.Hex());
  }
  return Store(id, kind, data);
}

Result<Hash> LocalObjectStore::PutContent(ObjectKind kind, std::string_view data) {
  Hash id = Hash::Of(data);
  RETURN_IF_ERROR(Store(id, kind, data));
  return id;
}

Status LocalObjectStore::Store(const Hash& id, ObjectKind kind, std::string_view data) {
  std::string path = layout_.ObjectFile(id);
  auto size = env_->FileSize(path);
  if (size.ok()) {
    if (*size == data.size()) {
      MarkPending(id);
      return Status::Ok();
    }
    // Wrong size: what a power loss leaves of an unflushed object. Replace.
  } else if (!size.status().Is(core::Code::kNotFound)) {
    return size.status().Annotate("put " + Describe(id, kind) + " into " + layout_.root());
  }
  std::string tmp = layout_.TempFile(owner_, ThreadId(), next_temp_.fetch_add(1));
  Status s = WriteTemp(tmp, data);
  if (s.ok()) s = RenameIntoPlace(tmp, id, path);
  if (!s.ok()) {
    (void)env_->RemoveFile(tmp);
    return s.Annotate("put " + Describe(id, kind) + " into " + layout_.root());
  }
  if (kind == ObjectKind::kChunk) {
    // These bytes were hashed to name the chunk: once they are durable
    // (Flush), the first mount on this host to read it need not hash it
    // again (verified_memo.h).
    std::lock_guard<std::mutex> l(mu_);
    written_chunks_.insert(id);
  }
  MarkPending(id);
  return Status::Ok();
}

void LocalObjectStore::Quarantine(const Hash& id, const std::string& path) {
  std::string dest = layout_.QuarantineFile(id, owner_, next_temp_.fetch_add(1));
  Status s = env_->RenameFile(path, dest);
  if (s.Is(core::Code::kNotFound) && env_->CreateDir(layout_.QuarantineDir()).ok()) {
    s = env_->RenameFile(path, dest);
  }
  if (!s.ok()) return;
  // A Put may have replaced the bad file with a good one between our read
  // and the rename; then we just moved a good copy aside. Move it back.
  auto moved = env_->ReadFile(dest);
  if (moved.ok() && Hash::Of(*moved) == id) (void)env_->RenameFile(dest, path);
}

Status LocalObjectStore::NotFoundOr(const Status& s, const Hash& id, ObjectKind kind) const {
  if (s.Is(core::Code::kNotFound)) {
    return Status::NotFound(Describe(id, kind) + " not found in store " + layout_.root());
  }
  return s.Annotate("get " + Describe(id, kind));
}

Status LocalObjectStore::Verify(const Hash& id, ObjectKind kind, const std::string& path,
                                std::string_view data) {
  Hash actual = Hash::Of(data);
  if (actual == id) return Status::Ok();
  Quarantine(id, path);
  return Status::Corruption(Describe(id, kind) + " in store " + layout_.root() +
                            " is corrupt: its " + std::to_string(data.size()) + " bytes hash to " +
                            actual.Hex() + "; moved to quarantine/, put it again to repair");
}

Result<std::string> LocalObjectStore::Get(const Hash& id, ObjectKind kind) {
  std::string path = layout_.ObjectFile(id);
  auto data = env_->ReadFile(path);
  if (!data.ok()) return NotFoundOr(data.status(), id, kind);
  RETURN_IF_ERROR(Verify(id, kind, path, *data));
  return data;
}

Status LocalObjectStore::GetInto(const Hash& id, ObjectKind kind, ObjectBuffer* out) {
  std::string path = layout_.ObjectFile(id);
  auto file = env_->NewRandomAccessFile(path);
  if (!file.ok()) return NotFoundOr(file.status(), id, kind);
  auto size = (*file)->Size();
  if (!size.ok()) return NotFoundOr(size.status(), id, kind);
  // One byte more than the size: an object that grew since the fstat (it
  // never should; objects are immutable) then fails verification instead
  // of being silently cut at the old size.
  out->Resize(static_cast<size_t>(*size) + 1);
  auto got = (*file)->Read(0, out->size(), out->data());
  if (!got.ok()) return NotFoundOr(got.status(), id, kind);
  out->Resize(*got);
  return Verify(id, kind, path, out->view());
}

Result<bool> LocalObjectStore::Contains(const Hash& id, ObjectKind kind) {
  auto size = env_->FileSize(layout_.ObjectFile(id));
  if (size.ok()) return *size > 0 || id == EmptyObject();
  if (size.status().Is(core::Code::kNotFound)) return false;
  return size.status().Annotate("look up " + Describe(id, kind));
}

Status LocalObjectStore::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::unordered_set<Hash, core::HashHasher> batch;
  std::bitset<256> dirs;
  {
    std::lock_guard<std::mutex> l(mu_);
    batch.swap(pending_);
    dirs = pending_dirs_;
    pending_dirs_.reset();
  }
  if (batch.empty()) return Status::Ok();

  Status s;
  std::vector<Hash> vanished;
  if (batch.size() >= options_.syncfs_threshold) {
    // One call covers every file's data and every directory entry.
    s = env_->SyncFilesystem(layout_.ObjectsDir());
  } else {
    for (const Hash& id : batch) {
      Status fs = env_->SyncFile(layout_.ObjectFile(id));
      if (fs.Is(core::Code::kNotFound)) {
        vanished.push_back(id);
      } else if (!fs.ok()) {
        s = fs;
        break;
      }
    }
    for (size_t i = 0; s.ok() && i < dirs.size(); ++i) {
      if (dirs[i]) s = env_->SyncDir(layout_.ObjectDir(static_cast<uint8_t>(i)));
    }
    // Any objects/<xx> may be new (created by us or by another writer whose
    // object we deduplicated against): make its entry durable too.
    if (s.ok()) s = env_->SyncDir(layout_.ObjectsDir());
  }
  for (const Hash& id : vanished) batch.erase(id);
  if (s.ok()) {
    std::vector<Hash> remember;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const Hash& id : batch) {
        if (written_chunks_.erase(id) != 0) remember.push_back(id);
      }
    }
    for (const Hash& id : remember) {
      struct stat st;
      if (::stat(layout_.ObjectFile(id).c_str(), &st) == 0) RememberVerified(id, st);
    }
  }
  if (!s.ok()) {
    // Keep everything pending so a retried Flush() syncs it again.
    std::lock_guard<std::mutex> l(mu_);
    pending_.merge(batch);
    pending_dirs_ |= dirs;
    return s.Annotate("flush store " + layout_.root());
  }
  if (!vanished.empty()) {
    std::string names;
    for (size_t i = 0; i < vanished.size() && i < 3; ++i) {
      names += (i ? ", " : "") + vanished[i].Hex();
    }
    if (vanished.size() > 3) names += ", ...";
    return Status::Aborted("flush store " + layout_.root() + ": " +
                           std::to_string(vanished.size()) + " object(s) (" + names +
                           ") disappeared before they were made durable (deleted or quarantined "
                           "concurrently); put them again");
  }
  return Status::Ok();
}

Status LocalObjectStore::Delete(const Hash& id, ObjectKind kind) {
  Status s = env_->RemoveFile(layout_.ObjectFile(id));
  if (s.Is(core::Code::kNotFound)) {
    return Status::NotFound(Describe(id, kind) + " not found in store " + layout_.root());
  }
  if (!s.ok()) return s.Annotate("delete " + Describe(id, kind));
  ::unlink(layout_.VerifiedFile(id).c_str());  // best effort, as its writes
  std::lock_guard<std::mutex> l(mu_);
  pending_.erase(id);
  written_chunks_.erase(id);
  return Status::Ok();
}

bool LocalObjectStore::VerifiedBefore(const Hash& id, const struct stat& st) {
  return static_cast<uint64_t>(st.st_size) >= kVerifiedMemoMinBytes &&
         MemoMatches(layout_.VerifiedFile(id), st);
}

void LocalObjectStore::RememberVerified(const Hash& id, const struct stat& st) {
  if (static_cast<uint64_t>(st.st_size) < kVerifiedMemoMinBytes) return;
  WriteMemo(layout_.VerifiedFile(id), layout_.VerifiedDir(),
            layout_.TempFile(owner_, ThreadId(), next_temp_.fetch_add(1)), st);
}

Status LocalObjectStore::ForEach(ObjectKind kind, const std::function<Status(const Hash&)>& fn) {
  ASSIGN_OR_RETURN(std::vector<std::string> dirs, env_->ListDir(layout_.ObjectsDir()));
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    if (dir.size() != 2) continue;
    auto files = env_->ListDir(layout_.ObjectsDir() + "/" + dir);
    if (!files.ok()) {
      if (files.status().Is(core::Code::kNotFound)) continue;
      return files.status().Annotate("list objects in " + layout_.root());
    }
    std::sort(files->begin(), files->end());
    for (const auto& file : *files) {
      auto id = LocalLayout::ParseObjectName(dir, file);
      if (id.has_value()) RETURN_IF_ERROR(fn(*id));
    }
  }
  return Status::Ok();
}

}  // namespace snapvol::store
