// The host's memo that a chunk's object file in the embedded store holds
// the bytes its name (SHA-256) promises (S10, docs/mount.md "File data"):
// the file verified/<64 hex> of the store, naming the object file's
// identity (inode, size, mtime, ctime) when that was known. The store writes
// it for the chunks it stores (it hashed those very bytes to name them); the
// mount's ChunkCache writes it after hashing a chunk it had no memo for, and
// trusts an object file whose identity still matches its memo.
//
// Why ctime: an in-place edit that puts the mtime back (touch -d,
// utimensat) keeps inode, size and mtime, but no process can set the ctime,
// and every write or utimensat moves it. Why a separate file, not an xattr
// on the object file (format 1 until issue 12; such xattrs are ignored now):
// setting the xattr moves the ctime itself, and on kernels with multigrain
// timestamps (6.13+) every change after a stat gets a new ctime, so a memo
// on the file could never name the ctime it leaves behind.
//
// Trust: anyone who can write the object files can also write the memos, so
// the memo guards against accidents and other processes' in-place edits,
// not against the store's owner. The store is owner-only (0700/0600,
// root-owned under the driver), so only that owner can forge a memo.
//
// What stat cannot see: an edit within the same timestamp tick as the
// file's previous change keeps the ctime on kernels without multigrain
// timestamps (a stat between the two gets the later change a new ctime on
// those with them).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace snapvol::store {

// Smaller chunks are cheaper to hash than to look up a memo for: they get
// none, and are hashed on every first read.
inline constexpr uint64_t kVerifiedMemoMinBytes = 64 << 10;

// "2:inode:size:mtime_sec.nsec:ctime_sec.nsec" of `st`.
std::string VerifiedIdentity(const struct stat& st);
// Whether the memo file at `memo` names `st`.
bool MemoMatches(const std::string& memo, const struct stat& st);
// Writes the memo of `st` to `memo` through `tmp` (renamed into place;
// `memo_dir`, its directory, is created if absent). Best effort. Plain
// POSIX calls, not core::Env: the memo is an optimization whose failure is
// never reported, so it has no place in the store's fault-injected steps.
void WriteMemo(const std::string& memo, const std::string& memo_dir, const std::string& tmp,
               const struct stat& st);
// "inode:size:mtime_sec.nsec": for a marker kept in an xattr of the file
// itself, which moves its ctime (the mount's FileCache copies).
std::string FileIdentity(const struct stat& st);

}  // namespace snapvol::store
