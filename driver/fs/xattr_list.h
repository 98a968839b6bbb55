// XattrList: the extended attributes of an entry (objects::Entry::xattrs),
// kept sorted by name, as a mount changes them. A node's entry holds the
// whole set once the mount read or changed it (loaded from its base entry
// first, BaseTree::LoadEntry); who may do what is access.h's.
// Pure functions; errors are the errnos of setxattr(2) and friends.
#pragma once

#include <string>

#include "driver/core/result.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

// Sets `name` to `value`; `flags` XATTR_CREATE (EEXIST if present) or
// XATTR_REPLACE (ENODATA if absent).
core::Status PutXattr(objects::Entry* e, const std::string& name, const std::string& value,
                      int flags);
// ENODATA if absent.
core::Status DeleteXattr(objects::Entry* e, const std::string& name);
// ENODATA if absent.
core::Result<std::string> FindXattr(const objects::Entry& e, const std::string& name);

}  // namespace snapvol::fs
