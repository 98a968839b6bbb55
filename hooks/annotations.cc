#include "hooks/annotations.h"

#include <charconv>

#include "driver/core/duration.h"
#include "driver/core/names.h"
#include "driver/core/text.h"

namespace snapvol::hooks {
namespace {

using core::Result;
using core::Status;

Status Bad(const std::string& key, const std::string& value, const std::string& why) {
  return Status::InvalidArgument("annotation " + key + "=" + core::QuoteBytes(value) + ": " + why);
}

// "a/b" is inside "a" (component-wise), and a path is inside itself.
bool Inside(const std::vector<std::string>& inner, const std::vector<std::string>& outer) {
  if (inner.size() < outer.size()) return false;
  for (size_t i = 0; i < outer.size(); ++i) {
    if (inner[i] != outer[i]) return false;
  }
  return true;
}

std::vector<std::string> SplitOn(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

Result<std::vector<VolumeRequest>> ParseVolumes(const std::string& value) {
  const std::string key = kAnnotationVolumes;
  std::vector<VolumeRequest> out;
  std::vector<std::vector<std::string>> paths;
  for (const std::string& raw : SplitOn(value, ',')) {
    const std::string item = Trim(raw);
    if (item.empty()) return Bad(key, value, "an empty entry (expected NAME:/PATH[:ro],...)");
    std::vector<std::string> parts = SplitOn(item, ':');
    if (parts.size() < 2 || parts.size() > 3) {
      return Bad(key, value, "'" + item + "' is not NAME:/PATH or NAME:/PATH:ro");
    }
    VolumeRequest v;
    v.volume = parts[0];
    if (Status st = core::ValidateName("volume", v.volume); !st.ok()) {
      return Bad(key, value, st.message());
    }
    if (parts.size() == 3) {
      if (parts[2] != "ro" && parts[2] != "rw") {
        return Bad(key, value,
                   "'" + parts[2] + "' after the path of " + v.volume + " is neither ro nor rw");
      }
      v.read_only = parts[2] == "ro";
    }
    const std::string& path = parts[1];
    if (path.empty() || path[0] != '/') {
      return Bad(key, value, "the path of " + v.volume + " must be absolute");
    }
    Result<std::vector<std::string>> split = core::SplitVolumePath(path);
    if (!split.ok()) return Bad(key, value, split.status().message());
    if (split->empty()) return Bad(key, value, "volume " + v.volume + " cannot be mounted at /");
    for (const auto& other : paths) {
      if (Inside(*split, other) || Inside(other, *split)) {
        return Bad(key, value,
                   "two volumes at " + core::JoinVolumePath(other) + " and " +
                       core::JoinVolumePath(*split) + " (one path each, none inside another)");
      }
    }
    v.path = core::JoinVolumePath(*split);
    paths.push_back(*split);
    out.push_back(std::move(v));
  }
  return out;
}

Result<bool> ParseBool(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return Bad(key, value, "expected true or false");
}

}  // namespace

Result<std::optional<HookRequest>> ParseAnnotations(
    const std::map<std::string, std::string>& annotations) {
  auto volumes = annotations.find(kAnnotationVolumes);
  if (volumes == annotations.end()) {
    for (const auto& [key, value] : annotations) {
      if (key.rfind(kAnnotationPrefix, 0) == 0) {
        return Bad(key, value,
                   std::string("set without ") + kAnnotationVolumes + ", which names the volumes");
      }
    }
    return std::optional<HookRequest>();
  }
  HookRequest req;
  ASSIGN_OR_RETURN(req.volumes, ParseVolumes(volumes->second));
  for (const auto& [key, value] : annotations) {
    if (key.rfind(kAnnotationPrefix, 0) != 0 || key == kAnnotationVolumes) continue;
    if (key == kAnnotationEnvironment) {
      if (Status st = core::ValidateName("environment", value); !st.ok()) {
        return Bad(key, value, st.message());
      }
      req.environment = value;
    } else if (key == kAnnotationCommitInterval) {
      Result<std::chrono::milliseconds> d = core::ParseDuration(value);
      if (!d.ok()) return Bad(key, value, d.status().message());
      req.commit_interval = *d;
    } else if (key == kAnnotationCreateIfMissing) {
      ASSIGN_OR_RETURN(req.create_if_missing, ParseBool(key, value));
    } else if (key == kAnnotationVersion) {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n == 0) {
        return Bad(key, value, "expected a version number, 1 or more");
      }
      req.version = n;
    } else {
      return Bad(key, value,
                 "unknown snapvol annotation (known: volumes, environment, commit-interval, "
                 "create-if-missing, version)");
    }
  }
  if (req.version != 0) {
    for (VolumeRequest& v : req.volumes) v.read_only = true;
    if (req.create_if_missing) {
      return Bad(kAnnotationVersion, std::to_string(req.version),
                 "a pinned version cannot be combined with create-if-missing");
    }
  }
  return std::optional<HookRequest>(std::move(req));
}

}  // namespace snapvol::hooks
