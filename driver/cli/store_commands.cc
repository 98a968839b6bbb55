#include "driver/cli/store_commands.h"

#include <cstdio>
#include <iostream>

#include "driver/cli/format.h"
#include "driver/core/json_bytes.h"
#include "driver/core/text.h"
#include "driver/volume/fsck.h"

namespace snapvol::cli {

Status StoreFsck(Context& ctx, bool quick) {
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  volume::FsckOptions options;
  options.quick = quick;
  auto report = volume::Fsck(eng->store(), options);
  if (!report.ok()) return Context::InContext(report.status(), "checking the store");
  const volume::FsckReport& r = *report;
  if (ctx.json()) {
    nlohmann::json j{{"environments", r.environments},
                     {"volumes", r.volumes},
                     {"versions", r.versions},
                     {"pages", r.pages},
                     {"files", r.files},
                     {"chunks", r.chunks},
                     {"chunk_bytes", r.chunk_bytes},
                     {"quick", quick}};
    j["problems"] = nlohmann::json::array();
    for (const auto& p : r.problems)
      j["problems"].push_back({{"where", p.where}, {"what", p.what}});
    std::cout << DumpJson(j) << "\n";
  } else {
    for (const auto& p : r.problems) std::printf("%s: %s\n", p.where.c_str(), p.what.c_str());
    std::printf(
        "Checked %llu environments, %llu volumes, %llu versions, %llu tree pages, %llu file "
        "indexes, %llu chunks (%s %s)%s\n",
        static_cast<unsigned long long>(r.environments), static_cast<unsigned long long>(r.volumes),
        static_cast<unsigned long long>(r.versions), static_cast<unsigned long long>(r.pages),
        static_cast<unsigned long long>(r.files), static_cast<unsigned long long>(r.chunks),
        HumanSize(r.chunk_bytes).c_str(), quick ? "present, not read" : "read and verified",
        r.clean() ? ": no problems." : ".");
  }
  if (!r.clean()) {
    return Status::Corruption("store " + eng->store().spec + ": fsck found " +
                              std::to_string(r.problems.size()) + " problem" +
                              (r.problems.size() == 1 ? "" : "s"));
  }
  return Status::Ok();
}

Status StoreRepair(Context& ctx, bool quick) {
  ctx.AllowMissingCatalog();
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto rebuilt = volume::RebuildCatalog(eng->store(), core::Env::Default()->NowNanos());
  if (!rebuilt.ok()) return Context::InContext(rebuilt.status(), "rebuilding the catalog");
  std::printf("Read %llu objects, %llu commits; rebuilt %zu volumes:\n",
              static_cast<unsigned long long>(rebuilt->objects),
              static_cast<unsigned long long>(rebuilt->commits), rebuilt->volumes.size());
  for (const auto& v : rebuilt->volumes) {
    std::printf("  volume '%s' in environment '%s' (%s): %llu versions%s\n",
                core::EscapeBytes(v.name).c_str(), v.environment.c_str(), v.id.c_str(),
                static_cast<unsigned long long>(v.versions),
                v.named ? "" : " (its commits carry no name: renamed)");
    for (const auto& other : v.other_heads) {
      std::printf(
          "    also claims the newest version: commit %s (a commit that lost the race, "
          "or the one that landed: check with `volume log` and `volume rollback`)\n",
          other.c_str());
    }
  }
  return StoreFsck(ctx, quick);
}

}  // namespace snapvol::cli
