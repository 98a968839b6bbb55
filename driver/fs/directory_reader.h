// DirectoryReader: readdir of a View directory — the base tree's listing
// (read in batches after the last name returned, without the view's lock)
// merged in name order with the names the mount knows (`children`: local
// names shown, whiteouts hidden, base names bound to nodes shown with their
// node's inode). Offsets are positions: "." is 0, ".." is 1, and a seek
// (an offset other than the handle's next one) restarts and skips. The
// base tree listed is the one the directory had at opendir
// (Handle::tree). With `plus`, each entry but "." and ".." is referenced
// (+1 lookup, built as a lookup would) and the reference dropped again if
// the caller refuses the entry.
//
// A short-lived helper of the View (a friend: it works on the view's nodes
// under View::mu_, which it takes itself); one per call.
#pragma once

#include <cstdint>
#include <functional>

#include "driver/core/result.h"

namespace snapvol::fs {

class View;
struct Handle;
struct DirEntryOut;

class DirectoryReader {
 public:
  explicit DirectoryReader(View* view) : view_(view) {}

  // Emits entries of directory handle `h` from offset `off` while `add`
  // accepts them.
  core::Status Read(Handle* h, uint64_t off, bool plus,
                    const std::function<bool(const DirEntryOut&)>& add);

 private:
  View* const view_;
};

}  // namespace snapvol::fs
