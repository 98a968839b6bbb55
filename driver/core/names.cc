#include "driver/core/names.h"

#include "driver/core/text.h"

namespace snapvol::core {

Status ValidateName(std::string_view what, std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid " + std::string(what) + " name " + QuoteBytes(name) +
                                   ": " + std::string(why) +
                                   " (allowed: " + std::string(kNamePattern) + ")");
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxNameLength) return bad("longer than 63 characters");
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return bad("must start with a letter or digit");
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return bad("contains a forbidden character");
  }
  return Status::Ok();
}

Status ValidateComponent(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty file name");
  if (name == "." || name == "..") {
    return Status::InvalidArgument("file name '" + std::string(name) + "' is not allowed");
  }
  if (name.size() > kMaxComponentLength) {
    return Status::InvalidArgument("file name longer than 255 bytes");
  }
  for (char c : name) {
    if (c == '/' || c == '\0') {
      return Status::InvalidArgument("file name contains '/' or NUL");
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SplitVolumePath(std::string_view path) {
  if (path.size() > kMaxPathLength) {
    return Status::InvalidArgument("path longer than 4096 bytes");
  }
  if (path.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("path contains a NUL byte");
  }
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (comp == "..") {
      return Status::InvalidArgument("path '" + std::string(path) +
                                     "' contains '..'; paths must stay inside the volume");
    }
    if (!comp.empty() && comp != ".") {
      if (comp.size() > kMaxComponentLength) {
        return Status::InvalidArgument("path component longer than 255 bytes in '" +
                                       std::string(path) + "'");
      }
      out.emplace_back(comp);
    }
    i = j + 1;
  }
  return out;
}

std::string JoinVolumePath(const std::vector<std::string>& components) {
  if (components.empty()) return "/";
  std::string s;
  for (const auto& c : components) {
    s += '/';
    s += c;
  }
  return s;
}

}  // namespace snapvol::core
