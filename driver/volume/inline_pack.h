// Inline packs: where the bytes of small files live. FileWriter inlines a
// file of up to kInlineLimit bytes in its Content. Before a commit (the
// mount's and `volume put`'s) and again before a directory's tree pages are
// written, PackChangeSet / PackInline move every inlined file larger than
// kPackMinBytes into packs: chunk objects of about kPackTargetBytes holding
// the bytes of many files back to back, each file's Content naming its slice
// (objects.PackSlice). Tree pages then carry names and attributes only, so a
// listing or `find` reads and verifies kilobytes per thousand files instead
// of megabytes, and a commit of many small files is a few objects.
//
// Readers accept all forms: a page written before packs (or a file at or
// under kPackMinBytes) keeps its bytes inline.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "driver/volume/change_set.h"
#include "snapvol_objects.pb.h"

namespace snapvol::volume {

using core::Result;
using core::Status;

inline constexpr size_t kPackMinBytes = 128;           // files up to this stay inline
inline constexpr size_t kPackTargetBytes = 256 << 10;  // a pack is closed at this size

// True if `c` holds its bytes inline (or has none): no pack, chunks or index.
bool IsInlineContent(const objects::Content& c);

// Moves the inline bytes of the FILE entries in `changes` (name -> entry, or
// nullopt for a delete; visited in name order) that are larger than
// kPackMinBytes into packs stored in `objects` as chunks, and points their
// Content at the slices. Deterministic for a given map. On error some
// entries may already point at stored packs; the map stays valid.
Status PackInline(store::ObjectStore& objects,
                  std::map<std::string, std::optional<objects::Entry>>* changes);

// The same for the Put operations of a change set, before it is committed:
// each directory's small files (in name order) share packs, and their inline
// bytes are freed as they are packed, so a commit of many small files does
// not hold every byte again in the tree editor. A commit re-applying the
// set after losing a race (S6) reuses the packs.
Status PackChangeSet(store::ObjectStore& objects, ChangeSet* changes);

// The bytes of a pack slice, read from `objects` (verified there). Corruption
// if the reference is malformed or the slice lies outside the pack.
Result<std::string> ReadPacked(store::ObjectStore& objects, const objects::PackSlice& slice);

// Checks a slice's reference and bounds without reading it; returns the
// pack's name. Corruption like ReadPacked.
Result<core::Hash> CheckPackSlice(const objects::PackSlice& slice);

}  // namespace snapvol::volume
