#include "driver/cli/format.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "driver/core/hash.h"
#include "driver/core/json_bytes.h"
#include "driver/core/text.h"

namespace snapvol::cli {

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", v, kUnits[unit]);
  return buf;
}

namespace {

std::string FormatTm(int64_t ns, bool utc, const char* fmt) {
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  if (ns < 0 && ns % 1'000'000'000 != 0) --secs;
  struct tm tm {};
  if (utc) {
    gmtime_r(&secs, &tm);
  } else {
    localtime_r(&secs, &tm);
  }
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), fmt, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string LocalTime(int64_t ns) { return FormatTm(ns, false, "%Y-%m-%d %H:%M:%S"); }

std::string Rfc3339(int64_t ns) {
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) frac += 1'000'000'000;
  char buf[16];
  std::snprintf(buf, sizeof(buf), ".%09" PRId64 "Z", frac);
  return FormatTm(ns, true, "%Y-%m-%dT%H:%M:%S") + buf;
}

std::string_view TypeName(objects::EntryType type) {
  switch (type) {
    case objects::FILE:
      return "file";
    case objects::DIRECTORY:
      return "dir";
    case objects::SYMLINK:
      return "symlink";
    case objects::FIFO:
      return "fifo";
    case objects::SOCKET:
      return "socket";
    case objects::CHAR_DEVICE:
      return "chardev";
    case objects::BLOCK_DEVICE:
      return "blockdev";
    default:
      return "unknown";
  }
}

std::string AuthorString(const objects::Author& author) {
  objects::Author a = author;
  for (std::string* f : {a.mutable_user(), a.mutable_host(), a.mutable_tool(), a.mutable_pod(),
                         a.mutable_pod_namespace(), a.mutable_container()}) {
    *f = core::EscapeBytes(*f);
  }
  std::string s = a.user().empty() ? "?" : a.user();
  if (!a.host().empty()) s += "@" + a.host();
  if (!a.pod().empty()) {
    s += " pod " + (a.pod_namespace().empty() ? "" : a.pod_namespace() + "/") + a.pod();
  }
  if (!a.container().empty()) s += " container " + a.container();
  if (!a.tool().empty()) s += " (" + a.tool() + ")";
  return s;
}

std::string SummaryString(const objects::ChangeSummary& s) {
  std::string out = "+" + std::to_string(s.added()) + " ~" + std::to_string(s.modified()) + " -" +
                    std::to_string(s.deleted());
  if (s.renamed() > 0) out += " >" + std::to_string(s.renamed());
  if (s.bytes_written() > 0) out += ", " + HumanSize(s.bytes_written()) + " written";
  return out;
}

std::string DumpJson(const nlohmann::json& j) { return core::DumpJsonText(j, 2); }

nlohmann::json EntryJson(const objects::Entry& e, const std::string& path) {
  nlohmann::json j;
  core::SetJsonBytes(j, "name", e.name());
  core::SetJsonBytes(j, "path", path);
  j["type"] = std::string(TypeName(e.type()));
  j["mode"] = e.mode();
  j["uid"] = e.uid();
  j["gid"] = e.gid();
  j["size"] = e.type() == objects::DIRECTORY ? e.subtree_bytes() : e.size();
  j["mtime"] = Rfc3339(e.mtime_ns());
  j["mtime_ns"] = e.mtime_ns();
  if (e.type() == objects::SYMLINK) core::SetJsonBytes(j, "target", e.symlink_target());
  if (e.type() == objects::DIRECTORY) j["inodes"] = e.subtree_inodes();
  return j;
}

nlohmann::json AuthorJson(const objects::Author& a) {
  nlohmann::json j = nlohmann::json::object();
  core::SetJsonBytes(j, "user", a.user());
  core::SetJsonBytes(j, "host", a.host());
  core::SetJsonBytes(j, "tool", a.tool());
  if (!a.pod().empty()) core::SetJsonBytes(j, "pod", a.pod());
  if (!a.pod_namespace().empty()) core::SetJsonBytes(j, "pod_namespace", a.pod_namespace());
  if (!a.container().empty()) core::SetJsonBytes(j, "container", a.container());
  return j;
}

nlohmann::json SnapshotJson(const volume::Snapshot& snap) {
  const objects::Commit& c = snap.commit;
  nlohmann::json j;
  j["version"] = snap.version;
  j["commit"] = snap.commit_hash.IsZero() ? "" : snap.commit_hash.Hex();
  if (!snap.error.ok()) {
    core::SetJsonBytes(j, "error", snap.error.message());
    return j;
  }
  std::string parent;
  if (auto h = core::Hash::FromBytes(c.parent()); h.ok()) parent = h->Hex();
  j["parent"] = parent;
  j["time"] = Rfc3339(c.time_ns());
  j["time_ns"] = c.time_ns();
  j["author"] = AuthorJson(c.author());
  nlohmann::json sum;
  sum["added"] = c.summary().added();
  sum["modified"] = c.summary().modified();
  sum["deleted"] = c.summary().deleted();
  sum["renamed"] = c.summary().renamed();
  sum["bytes_written"] = c.summary().bytes_written();
  sum["sample"] = nlohmann::json::array();
  bool exact = true;
  for (const auto& s : c.summary().sample()) {
    sum["sample"].push_back(s);
    exact = exact && core::IsUtf8(s);
  }
  if (!exact) {  // like SetBytes: the exact bytes of every line beside the shown ones
    sum["sample_base64"] = nlohmann::json::array();
    for (const auto& s : c.summary().sample())
      sum["sample_base64"].push_back(core::Base64Encode(s));
  }
  j["summary"] = sum;
  j["inodes"] = c.inodes();
  j["bytes"] = c.bytes();
  core::SetJsonBytes(j, "message", c.message());
  return j;
}

nlohmann::json VolumeJson(const store::VolumeRecord& v, const volume::Snapshot* head) {
  nlohmann::json j;
  j["name"] = v.name;
  j["environment"] = v.environment;
  j["id"] = v.id;
  j["created"] = Rfc3339(v.created_ns);
  j["created_ns"] = v.created_ns;
  j["inode_limit"] = v.inode_limit;
  if (head != nullptr) {
    j["version"] = head->version;
    j["inodes"] = head->inodes();
    j["bytes"] = head->commit.bytes();
  }
  return j;
}

nlohmann::json EnvironmentJson(const store::EnvironmentRecord& e) {
  nlohmann::json j;
  j["name"] = e.name;
  j["created"] = Rfc3339(e.created_ns);
  j["created_ns"] = e.created_ns;
  return j;
}

}  // namespace snapvol::cli
