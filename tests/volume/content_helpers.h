// Small helpers for tests that write files into change sets and read them
// back from snapshots.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "driver/core/names.h"
#include "driver/volume/engine.h"
#include "driver/volume/file_reader.h"
#include "driver/volume/file_writer.h"

namespace snapvol::volume::testing {

// A FILE entry whose content (inline or chunks) has been stored.
inline objects::Entry StoreFile(store::ObjectStore& objects, std::string_view data,
                                uint32_t mode = 0644) {
  FileWriter w(&objects);
  EXPECT_TRUE(w.Write(data).ok());
  auto c = w.Finish();
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  objects::Entry e;
  e.set_type(objects::FILE);
  e.set_mode(mode);
  e.set_size(data.size());
  if (c.ok()) *e.mutable_content() = *c;
  return e;
}

inline void PutFile(ChangeSet* cs, store::ObjectStore& objects, std::string_view path,
                    std::string_view data) {
  ASSERT_TRUE(cs->Put(path, StoreFile(objects, data)).ok());
  cs->add_bytes_written(data.size());
}

inline std::string ReadEntry(store::ObjectStore& objects, const objects::Entry& e) {
  auto r = FileReader::Open(&objects, e.content(), e.size());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return "<error>";
  std::string out;
  Status s = (*r)->ReadAll([&](std::string_view d) {
    out.append(d);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// The content of the file at `path` in `snap`, or nullopt if absent.
inline std::optional<std::string> ReadPath(Engine& engine, const Snapshot& snap,
                                           std::string_view path) {
  auto p = core::SplitVolumePath(path);
  EXPECT_TRUE(p.ok());
  auto e = engine.Lookup(snap, *p);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok() || !e->has_value()) return std::nullopt;
  return ReadEntry(engine.objects(), **e);
}

}  // namespace snapvol::volume::testing
