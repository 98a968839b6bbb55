#include "driver/cli/store_spec.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace snapvol::cli {

std::string DefaultStoreSpec() {
  if (::geteuid() == 0) return "/var/lib/snapvol";
  const char* xdg = std::getenv("XDG_DATA_HOME");
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/snapvol";
  std::string home;
  if (const char* h = std::getenv("HOME"); h != nullptr && h[0] != '\0') {
    home = h;
  } else if (const struct passwd* pw = ::getpwuid(::geteuid()); pw != nullptr) {
    home = pw->pw_dir;
  } else {
    home = "/tmp";
  }
  return home + "/.local/share/snapvol";
}

}  // namespace snapvol::cli
