// Helpers for reading paths of a snapshot that several commands share.
#pragma once

#include <optional>
#include <string>

#include "driver/core/result.h"
#include "driver/volume/engine.h"

namespace snapvol::cli {

// The snapshot's root directory; an empty directory for version 0.
core::Result<objects::Entry> RootOf(volume::Engine* engine, const volume::Snapshot& snap);

// The entry at `path` below `root`, or nullopt. Errors carry `where`.
core::Result<std::optional<objects::Entry>> ResolveIn(volume::Engine* engine,
                                                      const objects::Entry& root,
                                                      const volume::Path& path,
                                                      const std::string& where);

// FailedPrecondition naming the first proper ancestor of `path` that exists
// and is not a directory. (A ChangeSet would silently replace it with a
// directory; a CLI user never asked for that.) Missing ancestors are fine:
// the commit creates them.
core::Status CheckParents(volume::Engine* engine, const objects::Entry& root,
                          const volume::Path& path, const std::string& where);

}  // namespace snapvol::cli
