#include "driver/fs/fuse_connection.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace snapvol::fs {
namespace {

constexpr char kConnections[] = "/sys/fs/fuse/connections";

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Result<unsigned> FuseConnectionOf(std::string_view mountinfo, const std::string& mountpoint) {
  std::optional<std::string> found_dev, found_type;
  std::istringstream lines{std::string(mountinfo)};
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mountpoint options [optional...] - type source super
    std::istringstream in(line);
    std::vector<std::string> f;
    std::string word;
    while (in >> word) f.push_back(word);
    if (f.size() < 7 || Unescape(f[4]) != mountpoint) continue;
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 1 >= f.size()) continue;
    found_dev = f[2];
    found_type = f[dash + 1];
  }
  if (!found_dev) return Status::NotFound("nothing is mounted at '" + mountpoint + "'");
  if (*found_type != "fuse" && found_type->rfind("fuse.", 0) != 0) {
    return Status::InvalidArgument("'" + mountpoint + "' is a " + *found_type + " mount, not FUSE");
  }
  const size_t colon = found_dev->find(':');
  if (colon == std::string::npos) return Status::Corruption("bad device " + *found_dev);
  const std::string minor = found_dev->substr(colon + 1);
  if (minor.empty() || minor.find_first_not_of("0123456789") != std::string::npos ||
      minor.size() > 9) {
    return Status::Corruption("bad device " + *found_dev);
  }
  return static_cast<unsigned>(std::stoul(minor));
}

Status AbortFuseConnection(const std::string& mountpoint) {
  std::ifstream f("/proc/self/mountinfo");
  std::stringstream text;
  text << f.rdbuf();
  ASSIGN_OR_RETURN(unsigned conn, FuseConnectionOf(text.str(), mountpoint));
  const std::string abort = std::string(kConnections) + "/" + std::to_string(conn) + "/abort";
  if (::access(abort.c_str(), F_OK) != 0 &&
      ::mount("fusectl", kConnections, "fusectl", 0, nullptr) != 0 && errno != EBUSY) {
    return Status::FromErrno(errno, std::string("mounting fusectl on ") + kConnections);
  }
  int fd = ::open(abort.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "opening " + abort);
  const bool ok = ::write(fd, "1", 1) == 1;
  const int err = errno;
  ::close(fd);
  if (!ok) return Status::FromErrno(err, "writing " + abort);
  return Status::Ok();
}

}  // namespace snapvol::fs
