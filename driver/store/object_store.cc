#include "driver/store/object_store.h"

namespace snapvol::store {

std::string_view ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kChunk:
      return "chunk";
    case ObjectKind::kIndex:
      return "file index";
    case ObjectKind::kTree:
      return "tree";
    case ObjectKind::kCommit:
      return "commit";
  }
  return "unknown";
}

}  // namespace snapvol::store
