// The `snapvol store ...` commands: the store as a whole.
#pragma once

#include "driver/cli/context.h"

namespace snapvol::cli {

// volume::Fsck over the whole store; prints the totals and every problem.
// Corruption (exit 1) if any problem was found.
Status StoreFsck(Context& ctx, bool quick);
// volume::RebuildCatalog into a missing or empty catalog, then StoreFsck.
Status StoreRepair(Context& ctx, bool quick);

}  // namespace snapvol::cli
