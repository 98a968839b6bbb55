// The `snapvol volume ...` commands. Each validates its arguments (usage
// errors, exit 2), opens the volume (NotFound naming volume and
// environment), acts, and prints its result on stdout (JSON with --json for
// listings). Every changing command makes exactly one commit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "driver/cli/context.h"
#include "driver/cli/downloader.h"
#include "driver/cli/uploader.h"

namespace snapvol::cli {

Status VolumeCreate(Context& ctx, const std::string& name, uint64_t inode_limit);
// Asks for confirmation unless `yes` (see Context::Confirm).
Status VolumeDelete(Context& ctx, const std::string& name, bool yes, bool force);
Status VolumeList(Context& ctx);
Status VolumeLs(Context& ctx, const std::string& name, const std::string& path);
Status VolumePut(Context& ctx, const std::string& name, const PutRequest& request);
Status VolumeGet(Context& ctx, const std::string& name, const GetRequest& request);
// A non-empty directory needs `recursive`; the root cannot be removed.
Status VolumeRm(Context& ctx, const std::string& name, const std::string& path, bool recursive);
// `paths` is SRC... DST. Several sources need DST to be an existing
// directory; a single source goes inside DST if DST is a directory (or ends
// in "/"). Copies share content and subtrees (O(1) per item). An existing
// target file needs `force`; an existing target directory is never replaced.
Status VolumeCp(Context& ctx, const std::string& name, const std::vector<std::string>& paths,
                bool force);
Status VolumeRename(Context& ctx, const std::string& from, const std::string& to);
// Newest first; `limit` 0 = all. A version whose commit cannot be read is
// shown as damaged and the log goes on; the command then fails (Corruption).
Status VolumeLog(Context& ctx, const std::string& name, size_t limit);
// Engine::Rollback: version `version`'s content becomes the next version.
Status VolumeRollback(Context& ctx, const std::string& name, uint64_t version);

}  // namespace snapvol::cli
