#include "driver/store/store.h"

#include <cerrno>

#include "driver/store/local/local_object_store.h"
#include "driver/store/local/sqlite_catalog.h"

namespace snapvol::store {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool LooksLikeConfigFile(std::string_view spec) {
  return EndsWith(spec, ".yaml") || EndsWith(spec, ".yml") || EndsWith(spec, ".json") ||
         EndsWith(spec, ".conf");
}

Result<std::unique_ptr<Store>> OpenLocalStore(const std::string& dir, core::Env* env) {
  ASSIGN_OR_RETURN(auto objects, LocalObjectStore::Open(dir, env));
  std::string root = objects->layout().root();
  ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::Open(objects->layout().CatalogFile(), env));
  auto store = std::make_unique<Store>();
  store->objects = std::move(objects);
  store->catalog = std::move(catalog);
  store->spec = root;
  return store;
}

// The seam for the distributed (S3 bucket) backend: a store spec naming a
// config file will be parsed here.
Result<std::unique_ptr<Store>> OpenConfiguredStore(const std::string& config_file, core::Env* env) {
  return Status::InvalidArgument("store spec '" + config_file +
                                 "' is a file; distributed (S3) store config files are not "
                                 "supported yet — pass a directory for the embedded store");
}

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(const std::string& spec, core::Env* env) {
  if (spec.empty()) {
    return Status::InvalidArgument(
        "no store given: pass --store DIR (or set SNAPVOL_STORE) with a directory for the "
        "embedded store");
  }
  if (spec.find("://") != std::string::npos) {
    return Status::InvalidArgument("store spec '" + spec +
                                   "' looks like a URL; pass a directory (embedded store) or a "
                                   "config file (distributed store)");
  }
  auto listing = env->ListDir(spec);
  if (listing.ok()) return OpenLocalStore(spec, env);
  const Status& s = listing.status();
  if (s.Is(core::Code::kNotFound)) {
    if (LooksLikeConfigFile(spec)) {
      return Status::InvalidArgument("store config file '" + spec + "' does not exist");
    }
    return OpenLocalStore(spec, env);  // creatable directory
  }
  if (s.sys_errno() == ENOTDIR) return OpenConfiguredStore(spec, env);
  return s.Annotate("open store '" + spec + "'");
}

}  // namespace snapvol::store
