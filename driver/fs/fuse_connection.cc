#include "driver/fs/fuse_connection.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "driver/fs/mount_table.h"

namespace snapvol::fs {
namespace {

constexpr char kConnections[] = "/sys/fs/fuse/connections";

}  // namespace

Result<unsigned> FuseConnectionOf(std::string_view mountinfo, const std::string& mountpoint) {
  std::optional<MountEntry> found = FindMount(mountinfo, mountpoint);
  if (!found) return Status::NotFound("nothing is mounted at '" + mountpoint + "'");
  if (!IsFuseType(found->fstype) || found->fstype == "fuseblk") {
    return Status::InvalidArgument("'" + mountpoint + "' is a " + found->fstype +
                                   " mount, not FUSE");
  }
  const std::string& dev = found->device;
  const size_t colon = dev.find(':');
  if (colon == std::string::npos) return Status::Corruption("bad device " + dev);
  const std::string minor = dev.substr(colon + 1);
  if (minor.empty() || minor.find_first_not_of("0123456789") != std::string::npos ||
      minor.size() > 9) {
    return Status::Corruption("bad device " + dev);
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
