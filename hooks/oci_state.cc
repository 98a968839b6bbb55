#include "hooks/oci_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace snapvol::hooks {
namespace {

using core::Result;
using core::Status;
using json = nlohmann::json;

Result<json> Parse(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(what + " is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(what + " is not a JSON object");
  return j;
}

Result<std::string> OptionalString(const json& j, const char* key, const std::string& what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Status::InvalidArgument(what + ": " + key + " is not a string");
  return it->get<std::string>();
}

Result<std::map<std::string, std::string>> Annotations(const json& j, const std::string& what) {
  std::map<std::string, std::string> out;
  auto it = j.find("annotations");
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_object()) return Status::InvalidArgument(what + ": annotations is not an object");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return Status::InvalidArgument(what + ": annotation " + k + " is not a string");
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

}  // namespace

Result<OciState> ParseState(const std::string& text) {
  const std::string what = "the OCI state on stdin";
  ASSIGN_OR_RETURN(json j, Parse(text, what));
  OciState s;
  ASSIGN_OR_RETURN(s.oci_version, OptionalString(j, "ociVersion", what));
  ASSIGN_OR_RETURN(s.id, OptionalString(j, "id", what));
  ASSIGN_OR_RETURN(s.status, OptionalString(j, "status", what));
  ASSIGN_OR_RETURN(s.bundle, OptionalString(j, "bundle", what));
  if (s.id.empty()) return Status::InvalidArgument(what + " has no container id");
  if (s.id.find('/') != std::string::npos || s.id.find('\0') != std::string::npos ||
      s.id.size() > 1024) {
    return Status::InvalidArgument(what + ": container id is not a plain name");
  }
  if (s.bundle.empty() || s.bundle[0] != '/') {
    return Status::InvalidArgument(what + " has no absolute bundle path");
  }
  if (auto pid = j.find("pid"); pid != j.end() && !pid->is_null()) {
    if (!pid->is_number_integer() || pid->get<int64_t>() < 0 || pid->get<int64_t>() > INT_MAX) {
      return Status::InvalidArgument(what + ": pid is not a process id");
    }
    s.pid = static_cast<int>(pid->get<int64_t>());
  }
  ASSIGN_OR_RETURN(s.annotations, Annotations(j, what));
  return s;
}

Result<OciConfig> ParseConfig(const std::string& text) {
  const std::string what = "config.json";
  ASSIGN_OR_RETURN(json j, Parse(text, what));
  OciConfig c;
  auto root = j.find("root");
  if (root == j.end() || !root->is_object()) {
    return Status::InvalidArgument(what + " has no root object");
  }
  ASSIGN_OR_RETURN(c.root_path, OptionalString(*root, "path", what + ": root"));
  if (c.root_path.empty()) return Status::InvalidArgument(what + " has no root.path");
  if (auto ro = root->find("readonly"); ro != root->end() && !ro->is_null()) {
    if (!ro->is_boolean())
      return Status::InvalidArgument(what + ": root.readonly is not a boolean");
    c.root_readonly = ro->get<bool>();
  }
  ASSIGN_OR_RETURN(c.annotations, Annotations(j, what));
  return c;
}

Result<std::string> ReadBoundedFd(int fd, size_t limit, const std::string& what) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "reading " + what);
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > limit) {
      return Status::InvalidArgument(what + " is larger than " + std::to_string(limit) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> ReadBounded(const std::string& path, size_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Status::FromErrno(errno, "opening " + path);
  Result<std::string> r = ReadBoundedFd(fd, limit, path);
  ::close(fd);
  return r;
}

Result<std::string> ResolveRootfs(const std::string& bundle, const std::string& root_path) {
  const std::string joined = root_path[0] == '/' ? root_path : bundle + "/" + root_path;
  char buf[PATH_MAX];
  if (::realpath(joined.c_str(), buf) == nullptr) {
    return Status::FromErrno(errno, "the container's root file system '" + joined + "'");
  }
  struct stat st;
  if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("the container's root file system '" + std::string(buf) +
                                   "' is not a directory");
  }
  return std::string(buf);
}

}  // namespace snapvol::hooks
