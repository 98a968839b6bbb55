// Consistency rules for structured objects (docs/storage-format.md, "What a
// reader checks"). Decoding runs them on every object read from a store, and
// Put runs them before an object is written, so a commit can never publish an
// object that a reader would refuse. Each violation is Corruption naming the
// object and the rule; `what` is "tree object <hex>" or similar.
#pragma once

#include <string>
#include <string_view>

#include "driver/core/status.h"
#include "snapvol_objects.pb.h"

namespace snapvol::store {

// Entry names are byte strings: 1-255 bytes, no '/' or NUL, not "." or "..";
// any other bytes (not UTF-8, control characters) are valid.
core::Status CheckEntryName(std::string_view name, std::string_view what);

// One entry: a known type, mode bits within 07777, the fields of its type
// (file content whose length equals `size`, a 32-byte tree hash, a symlink
// target of `size` bytes without NUL) and only those, xattrs sorted by name
// without duplicates. `root` entries (a commit's root) have no name.
core::Status CheckEntry(const objects::Entry& e, std::string_view what, bool root = false);

// A page holds entries (level 0) or child references (level > 0), never
// both; entry names and child first names strictly increase (bytewise).
core::Status CheckTreePage(const objects::TreePage& page, std::string_view what);
core::Status CheckFileIndex(const objects::FileIndex& index, std::string_view what);
core::Status CheckCommit(const objects::Commit& commit, std::string_view what);

}  // namespace snapvol::store
