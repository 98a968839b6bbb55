// Human and JSON renderings of entries, volumes, versions and environments,
// shared by every listing command so `--json` and text agree.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "driver/store/catalog.h"
#include "driver/volume/engine.h"
#include "snapvol_objects.pb.h"

namespace snapvol::cli {

// "0 B", "999 B", "1.0 KiB", "12.3 MiB".
std::string HumanSize(uint64_t bytes);
// Local time, "2024-05-01 12:03:04".
std::string LocalTime(int64_t ns);
// UTC, RFC 3339 with nanoseconds: "2024-05-01T12:03:04.000000123Z".
std::string Rfc3339(int64_t ns);
// "file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev".
std::string_view TypeName(objects::EntryType type);
// "user@host (cli)", plus pod and container when set.
std::string AuthorString(const objects::Author& author);
// "+2 ~1 -0 >1, 12.0 MiB written".
std::string SummaryString(const objects::ChangeSummary& summary);

// Serializes with invalid UTF-8 (file names are bytes) replaced, never
// throwing.
std::string DumpJson(const nlohmann::json& j);

nlohmann::json EntryJson(const objects::Entry& entry, const std::string& path);
nlohmann::json AuthorJson(const objects::Author& author);
nlohmann::json SnapshotJson(const volume::Snapshot& snap);
// `head` may be null when the volume's head could not be read.
nlohmann::json VolumeJson(const store::VolumeRecord& volume, const volume::Snapshot* head);
nlohmann::json EnvironmentJson(const store::EnvironmentRecord& env);

}  // namespace snapvol::cli
