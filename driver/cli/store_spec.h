// Where the CLI finds its store when neither --store nor SNAPVOL_STORE is set.
#pragma once

#include <string>

namespace snapvol::cli {

// "/var/lib/snapvol" for root; otherwise "$XDG_DATA_HOME/snapvol", falling
// back to "$HOME/.local/share/snapvol" (HOME from the password database if
// unset).
std::string DefaultStoreSpec();

}  // namespace snapvol::cli
