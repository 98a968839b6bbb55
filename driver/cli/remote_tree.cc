#include "driver/cli/remote_tree.h"

#include "driver/cli/context.h"
#include "driver/core/names.h"

namespace snapvol::cli {

core::Result<objects::Entry> RootOf(volume::Engine* engine, const volume::Snapshot& snap) {
  if (snap.root().type() == objects::DIRECTORY) return snap.root();
  return engine->EmptyRoot();
}

core::Result<std::optional<objects::Entry>> ResolveIn(volume::Engine* engine,
                                                      const objects::Entry& root,
                                                      const volume::Path& path,
                                                      const std::string& where) {
  auto e = engine->reader().Resolve(root, path);
  if (!e.ok()) {
    return Context::InContext(e.status(), where + ": '" + core::JoinVolumePath(path) + "'");
  }
  return e;
}

core::Status CheckParents(volume::Engine* engine, const objects::Entry& root,
                          const volume::Path& path, const std::string& where) {
  volume::Path prefix;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    prefix.push_back(path[i]);
    ASSIGN_OR_RETURN(auto e, ResolveIn(engine, root, prefix, where));
    if (!e.has_value()) return core::Status::Ok();
    if (e->type() != objects::DIRECTORY) {
      return core::Status::FailedPrecondition(where + ": '" + core::JoinVolumePath(prefix) +
                                              "' is not a directory");
    }
  }
  return core::Status::Ok();
}

}  // namespace snapvol::cli
