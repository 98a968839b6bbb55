#include "driver/cli/local_path.h"

namespace snapvol::cli {

std::string_view PyBasename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

namespace {
std::string_view StripTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}
}  // namespace

std::string LastComponent(std::string_view path) {
  path = StripTrailingSlashes(path);
  if (path == "/") return "";
  return std::string(PyBasename(path));
}

std::string ParentOf(std::string_view path) {
  path = StripTrailingSlashes(path);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  std::string_view parent = StripTrailingSlashes(path.substr(0, slash));
  return parent.empty() ? "/" : std::string(parent);
}

std::string JoinLocal(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

}  // namespace snapvol::cli
