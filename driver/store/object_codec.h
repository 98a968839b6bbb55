// Encoding of structured objects: a 4-byte magic naming kind and format
// version ("svT1" tree page, "svT2" tree page with entries in packs, "svI1"
// file index, "svC1" commit) followed by the deterministic protobuf encoding. Chunks are raw bytes
// (no framing). Decoding checks the magic and parses strictly; any failure is Corruption naming the
// object.
#pragma once

#include <string>
#include <string_view>

#include "driver/store/object_store.h"
#include "snapvol_objects.pb.h"

namespace snapvol::store {

std::string EncodeTreePage(const objects::TreePage& page);
std::string EncodeFileIndex(const objects::FileIndex& index);
std::string EncodeCommit(const objects::Commit& commit);

Result<objects::TreePage> DecodeTreePage(std::string_view bytes, const Hash& id);
Result<objects::FileIndex> DecodeFileIndex(std::string_view bytes, const Hash& id);
Result<objects::Commit> DecodeCommit(std::string_view bytes, const Hash& id);

// Encode + Put; returns the object's hash.
Result<Hash> PutTreePage(ObjectStore& store, const objects::TreePage& page);
Result<Hash> PutFileIndex(ObjectStore& store, const objects::FileIndex& index);
Result<Hash> PutCommit(ObjectStore& store, const objects::Commit& commit);

// Get + Decode.
Result<objects::TreePage> GetTreePage(ObjectStore& store, const Hash& id);
Result<objects::FileIndex> GetFileIndex(ObjectStore& store, const Hash& id);
Result<objects::Commit> GetCommit(ObjectStore& store, const Hash& id);

// Hash stored in a protobuf `bytes` field; Corruption if it is not 32 bytes.
Result<Hash> HashField(const std::string& field, std::string_view what);

}  // namespace snapvol::store
