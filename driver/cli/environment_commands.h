// The `snapvol environment ...` commands.
#pragma once

#include <string>

#include "driver/cli/context.h"

namespace snapvol::cli {

Status EnvironmentCreate(Context& ctx, const std::string& name);
Status EnvironmentList(Context& ctx);
// Refuses while the environment holds volumes unless `force` (which deletes
// them too); "main" cannot be deleted. Asks for confirmation unless `yes`.
Status EnvironmentDelete(Context& ctx, const std::string& name, bool yes, bool force);

}  // namespace snapvol::cli
