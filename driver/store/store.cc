#include "driver/store/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

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

// A store that holds objects but whose catalog is gone or empty: SQLite
// would create an empty one, every volume would vanish and new ones would
// start beside the old data.
Status CheckCatalogPresent(const LocalLayout& layout, core::Env* env) {
  struct stat st {};
  const std::string catalog = layout.CatalogFile();
  const bool missing = ::stat(catalog.c_str(), &st) != 0;
  if (!missing && st.st_size > 0) return Status::Ok();
  auto objects = env->ListDir(layout.ObjectsDir());
  if (!objects.ok() || objects->empty()) return Status::Ok();  // a new store
  return Status::FailedPrecondition(
      "store " + layout.root() + " holds objects but its catalog " + catalog + " is " +
      (missing ? "missing" : "empty") +
      ": its volumes and versions cannot be found. Restore catalog.db from a backup; snapvol "
      "will not start an empty catalog over existing data");
}

// Other users must not read volume data through the store's files.
std::vector<std::string> PermissionWarnings(const LocalLayout& layout) {
  std::vector<std::string> out;
  for (const std::string& path : {layout.root(), layout.CatalogFile()}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    out.push_back(path + " is accessible to other users (mode " + mode + "); run chmod go-rwx " +
                  path);
  }
  return out;
}

Result<std::unique_ptr<Store>> OpenLocalStore(const std::string& dir, core::Env* env,
                                              bool allow_missing_catalog) {
  ASSIGN_OR_RETURN(auto objects, LocalObjectStore::Open(dir, env));
  std::string root = objects->layout().root();
  if (!allow_missing_catalog) RETURN_IF_ERROR(CheckCatalogPresent(objects->layout(), env));
  ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::Open(objects->layout().CatalogFile(), env));
  auto store = std::make_unique<Store>();
  store->warnings = PermissionWarnings(objects->layout());
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

Result<std::unique_ptr<Store>> OpenStore(const std::string& spec, core::Env* env,
                                         bool allow_missing_catalog) {
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
  if (listing.ok()) return OpenLocalStore(spec, env, allow_missing_catalog);
  const Status& s = listing.status();
  if (s.Is(core::Code::kNotFound)) {
    if (LooksLikeConfigFile(spec)) {
      return Status::InvalidArgument("store config file '" + spec + "' does not exist");
    }
    return OpenLocalStore(spec, env, allow_missing_catalog);  // creatable directory
  }
  if (s.sys_errno() == ENOTDIR) return OpenConfiguredStore(spec, env);
  return s.Annotate("open store '" + spec + "'");
}

}  // namespace snapvol::store
