// The host's memo that an object file of the embedded store holds the bytes
// its name (SHA-256) promises (S10, docs/mount.md "File data"): an xattr on
// the file naming its identity (inode, size, mtime) when that was known.
// The store writes it for the chunks it stores (it hashed those very bytes
// to name them); the mount's ChunkCache writes it after hashing a chunk it
// had no memo for, and trusts a file whose memo still matches. Anything
// that rewrites the file in place changes its mtime and voids the memo.
#pragma once

#include <sys/stat.h>

#include <string>

namespace snapvol::store {

inline constexpr char kVerifiedXattr[] = "user.snapvol.verified";

// "inode:size:mtime_sec.mtime_nsec" of `st`.
std::string VerifiedIdentity(const struct stat& st);
// Whether open file `fd` (whose fstat is `st`) carries a matching memo.
bool VerifiedBefore(int fd, const struct stat& st);
// Records the memo on `fd` (best effort: a file system without user xattrs
// only means the file is hashed again on its next first read).
void RememberVerified(int fd, const struct stat& st);
// Same for the file at `path`.
void RememberVerified(const std::string& path);

}  // namespace snapvol::store
