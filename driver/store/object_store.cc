#include "driver/store/object_store.h"

namespace snapvol::store {

Result<Hash> ObjectStore::PutContent(ObjectKind kind, std::string_view data) {
  Hash id = Hash::Of(data);
  RETURN_IF_ERROR(Put(id, kind, data));
  return id;
}

Status ObjectStore::GetInto(const Hash& id, ObjectKind kind, ObjectBuffer* out) {
  ASSIGN_OR_RETURN(std::string data, Get(id, kind));
  out->Assign(data);
  return Status::Ok();
}

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

Status ReferencedObject(Status got, const Hash& id, ObjectKind kind) {
  if (!got.Is(core::Code::kNotFound)) return got;
  return Status::Corruption(std::string(ObjectKindName(kind)) + " object " + id.Hex() +
                            " is referenced but missing from the store (" + got.message() + ")");
}

}  // namespace snapvol::store
