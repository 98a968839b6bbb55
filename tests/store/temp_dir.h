// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its
// contents when the object goes away. For tests only.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace snapvol::store {

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base ? base : "/tmp") + "/snapvol-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace snapvol::store
