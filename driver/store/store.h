// Store: an ObjectStore and a Catalog opened together from a store spec.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "driver/core/env.h"
#include "driver/store/catalog.h"
#include "driver/store/object_store.h"

namespace snapvol::store {

struct Store {
  std::unique_ptr<ObjectStore> objects;
  std::unique_ptr<Catalog> catalog;
  std::string spec;  // what it was opened from, for messages (never secrets)
  // Things the opener should tell its user (one line each), e.g. a store
  // that other users can read.
  std::vector<std::string> warnings;
};

// Opens the store named by `spec`: a directory path opens (creating if
// needed) the embedded local store. `env` must outlive the store.
// FailedPrecondition if the store has objects but no catalog (catalog.db
// missing or empty): opening would show no volumes and start an empty one.
// `allow_missing_catalog`: open (and start an empty catalog) even then;
// only for rebuilding the catalog (`snapvol store fsck --repair`).
Result<std::unique_ptr<Store>> OpenStore(const std::string& spec, core::Env* env,
                                         bool allow_missing_catalog = false);

}  // namespace snapvol::store
