#include "driver/fs/control_json.h"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "driver/core/json_bytes.h"

namespace snapvol::fs {
namespace {

using nlohmann::json;

json CommitJson(const CommitInfo& c) {
  return json{{"version", c.version},   {"empty", c.empty},       {"changes", c.changes},
              {"deferred", c.deferred}, {"attempts", c.attempts}, {"time_ns", c.time_ns},
              {"trigger", c.trigger}};
}

template <typename T>
void Get(const json& j, const char* key, T* out) {
  core::GetJsonField(j, key, out);
}

CommitInfo CommitFrom(const json& j) {
  CommitInfo c;
  Get(j, "version", &c.version);
  Get(j, "empty", &c.empty);
  Get(j, "changes", &c.changes);
  Get(j, "deferred", &c.deferred);
  Get(j, "attempts", &c.attempts);
  Get(j, "time_ns", &c.time_ns);
  Get(j, "trigger", &c.trigger);
  return c;
}

// Paths and messages are bytes (core/json_bytes.h).
void GetBytes(const json& j, const char* key, std::string* out) {
  if (!core::GetJsonBytes(j, key, out)) throw std::runtime_error(std::string("bad field ") + key);
}

// Paths and error messages are set after building `j` so that bytes which
// are not UTF-8 round-trip.
void SetPaths(json& j, const std::string& store, const std::string& mountpoint) {
  core::SetJsonBytes(j, "store", store);
  core::SetJsonBytes(j, "mountpoint", mountpoint);
}

template <typename T, typename Fn>
Result<T> Parse(const std::string& text, const char* what, Fn fn) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Status::Corruption(std::string(what) + " is not a JSON object");
    return fn(j);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("cannot parse ") + what + ": " + e.what());
  }
}

}  // namespace

std::string EncodeMountInfo(const MountInfo& i) {
  json j{{"id", i.id},
         {"environment", i.environment},
         {"volume", i.volume},
         {"volume_id", i.volume_id},
         {"pid", i.pid},
         {"base_version", i.base_version},
         {"read_only", i.read_only},
         {"commit_interval_ms", i.commit_interval_ms},
         {"created_ns", i.created_ns},
         {"container", i.container}};
  SetPaths(j, i.store, i.mountpoint);
  return core::DumpJsonText(j, 2) + "\n";
}

Result<MountInfo> DecodeMountInfo(const std::string& text) {
  return Parse<MountInfo>(text, "mount.json", [](const json& j) {
    MountInfo i;
    Get(j, "id", &i.id);
    GetBytes(j, "store", &i.store);
    Get(j, "environment", &i.environment);
    Get(j, "volume", &i.volume);
    Get(j, "volume_id", &i.volume_id);
    GetBytes(j, "mountpoint", &i.mountpoint);
    Get(j, "pid", &i.pid);
    Get(j, "base_version", &i.base_version);
    Get(j, "read_only", &i.read_only);
    Get(j, "commit_interval_ms", &i.commit_interval_ms);
    Get(j, "created_ns", &i.created_ns);
    Get(j, "container", &i.container);
    return i;
  });
}

std::string EncodeMountOptions(const MountOptions& o) {
  json j{{"environment", o.environment},
         {"volume", o.volume},
         {"commit_interval_ms", o.commit_interval.count()},
         {"read_only", o.read_only},
         {"version", o.version},
         {"author_tool", o.author_tool},
         {"pod", o.pod},
         {"pod_namespace", o.pod_namespace},
         {"container", o.container},
         {"fuse_fd", o.fuse_fd}};
  SetPaths(j, o.store, o.mountpoint);
  core::SetJsonBytes(j, "state_dir", o.state_dir);
  return core::DumpJsonText(j);
}

Result<MountOptions> DecodeMountOptions(const std::string& text) {
  return Parse<MountOptions>(text, "mount options", [](const json& j) {
    MountOptions o;
    GetBytes(j, "store", &o.store);
    Get(j, "environment", &o.environment);
    Get(j, "volume", &o.volume);
    GetBytes(j, "mountpoint", &o.mountpoint);
    GetBytes(j, "state_dir", &o.state_dir);
    int64_t interval = o.commit_interval.count();
    Get(j, "commit_interval_ms", &interval);
    o.commit_interval = std::chrono::milliseconds(interval);
    Get(j, "read_only", &o.read_only);
    Get(j, "version", &o.version);
    Get(j, "author_tool", &o.author_tool);
    Get(j, "pod", &o.pod);
    Get(j, "pod_namespace", &o.pod_namespace);
    Get(j, "container", &o.container);
    Get(j, "fuse_fd", &o.fuse_fd);
    return o;
  });
}

std::string EncodeCommitInfo(const CommitInfo& info) {
  return core::DumpJsonText(CommitJson(info));
}

Result<CommitInfo> DecodeCommitInfo(const std::string& text) {
  return Parse<CommitInfo>(text, "commit result", [](const json& j) { return CommitFrom(j); });
}

std::string EncodeMountStatus(const MountStatus& s) {
  json j{{"volume", s.volume},
         {"environment", s.environment},
         {"mount_id", s.mount_id},
         {"version", s.version},
         {"read_only", s.read_only},
         {"pinned", s.pinned},
         {"pending", s.pending},
         {"commit_interval_ms", s.commit_interval_ms},
         {"pid", s.pid},
         {"inodes", s.inodes},
         {"inode_limit", s.inode_limit},
         {"commits", s.commits},
         {"reloads", s.reloads},
         {"passthrough", s.passthrough},
         {"passthrough_accepted", s.passthrough_accepted},
         {"passthrough_opens", s.passthrough_opens},
         {"reads", s.reads},
         {"file_cache",
          {{"hits", s.file_cache_hits},
           {"fills", s.file_cache_fills},
           {"fill_failures", s.file_cache_fill_failures}}}};
  if (s.has_last_commit) {
    json last = CommitJson(s.last_commit);
    last["ok"] = s.last_commit_ok;
    if (!s.last_commit_ok) core::SetJsonBytes(last, "error", s.last_commit_error);
    j["last_commit"] = last;
  } else {
    j["last_commit"] = nullptr;
  }
  SetPaths(j, s.store, s.mountpoint);
  core::SetJsonBytes(j, "state_dir", s.state_dir);
  return core::DumpJsonText(j);
}

Result<MountStatus> DecodeMountStatus(const std::string& text) {
  return Parse<MountStatus>(text, "mount status", [](const json& j) {
    MountStatus s;
    Get(j, "volume", &s.volume);
    Get(j, "environment", &s.environment);
    GetBytes(j, "store", &s.store);
    GetBytes(j, "mountpoint", &s.mountpoint);
    GetBytes(j, "state_dir", &s.state_dir);
    Get(j, "mount_id", &s.mount_id);
    Get(j, "version", &s.version);
    Get(j, "read_only", &s.read_only);
    Get(j, "pinned", &s.pinned);
    Get(j, "pending", &s.pending);
    Get(j, "commit_interval_ms", &s.commit_interval_ms);
    Get(j, "pid", &s.pid);
    Get(j, "inodes", &s.inodes);
    Get(j, "inode_limit", &s.inode_limit);
    Get(j, "commits", &s.commits);
    Get(j, "reloads", &s.reloads);
    Get(j, "passthrough", &s.passthrough);
    Get(j, "passthrough_accepted", &s.passthrough_accepted);
    Get(j, "passthrough_opens", &s.passthrough_opens);
    Get(j, "reads", &s.reads);
    if (auto fc = j.find("file_cache"); fc != j.end() && fc->is_object()) {
      Get(*fc, "hits", &s.file_cache_hits);
      Get(*fc, "fills", &s.file_cache_fills);
      Get(*fc, "fill_failures", &s.file_cache_fill_failures);
    }
    auto it = j.find("last_commit");
    if (it != j.end() && it->is_object()) {
      s.has_last_commit = true;
      s.last_commit = CommitFrom(*it);
      Get(*it, "ok", &s.last_commit_ok);
      GetBytes(*it, "error", &s.last_commit_error);
    }
    return s;
  });
}

}  // namespace snapvol::fs
