#include "driver/fs/mount_inspect.h"

#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "driver/fs/fuse_connection.h"
#include "driver/fs/mount_table.h"
#include "driver/fs/state_layout.h"

extern char** environ;

namespace snapvol::fs {
namespace {

// `path` made absolute and normal, with symlinks resolved where possible
// (a dead FUSE mount cannot be resolved: then as given).
std::string Canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

bool IsDeadErrno(int e) { return e == ENOTCONN || e == ECONNABORTED; }

}  // namespace

Status DeadMountError(const std::string& mountpoint) {
  return Status::Unavailable("the mount server of '" + mountpoint +
                             "' is gone (crashed or killed); `snapvol unmount` detaches it and "
                             "`snapvol recover` commits what it left pending");
}

MountInspection InspectMount(const std::string& mountpoint) {
  MountInspection out;
  const std::string mp = Canonical(mountpoint);
  std::optional<MountEntry> entry = FindMount(mp);
  if (!entry) {
    out.presence = MountPresence::kAbsent;
    out.error = Status::NotFound("nothing is mounted at '" + mp + "'");
    return out;
  }
  struct stat st;
  if (::stat(mp.c_str(), &st) != 0 && IsDeadErrno(errno)) {
    out.presence = MountPresence::kDead;
    out.error = DeadMountError(mp);
    return out;
  }
  Result<MountStatus> status = StatusOf(mp);
  if (status.ok()) {
    out.presence = MountPresence::kLive;
    out.status = std::move(*status);
    return out;
  }
  if (IsDeadErrno(status.status().sys_errno())) {
    out.presence = MountPresence::kDead;
    out.error = DeadMountError(mp);
    return out;
  }
  out.presence = MountPresence::kNotSnapvol;
  out.error = status.status();
  return out;
}

Status UnmountFuse(const std::string& mountpoint, bool lazy) {
  if (::geteuid() == 0) {
    if (::umount2(mountpoint.c_str(), lazy ? MNT_DETACH : 0) == 0) return Status::Ok();
    return Status::FromErrno(errno, "unmounting '" + mountpoint + "'");
  }
  std::vector<std::string> args = {"fusermount3", "-u", "-q"};
  if (lazy) args.push_back("-z");
  args.push_back(mountpoint);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "fusermount3", nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return Status::FromErrno(rc, "running fusermount3");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  return Status::FailedPrecondition(std::string("fusermount3 -u ") + (lazy ? "-z " : "") + "'" +
                                    mountpoint + "' failed (busy, or not mounted by this user)");
}

Status DetachDeadMount(const std::string& mountpoint) {
  const std::string mp = Canonical(mountpoint);
  // Requests still waiting on the dead server fail now (fuse_connection.h).
  if (::geteuid() == 0) (void)AbortFuseConnection(mp);
  Status st = UnmountFuse(mp, /*lazy=*/true);
  if (!st.ok() && !FindMount(mp)) return Status::Ok();  // already gone
  return st;
}

std::vector<MountInfo> RecordedMounts(const std::string& state_dir) {
  std::vector<MountInfo> out;
  std::error_code ec;
  StateLayout layout(state_dir);
  for (const auto& entry : std::filesystem::directory_iterator(layout.MountsDir(), ec)) {
    MountDirLayout dir(entry.path().string());
    std::ifstream in(dir.InfoFile(), std::ios::binary);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    Result<MountInfo> info = DecodeMountInfo(text.str());
    if (info.ok()) out.push_back(std::move(*info));
  }
  return out;
}

std::optional<MountInfo> RecordedMountAt(const std::string& state_dir,
                                         const std::string& mountpoint) {
  const std::string target = Canonical(mountpoint);
  for (MountInfo& info : RecordedMounts(state_dir)) {
    if (info.mountpoint == target) return std::move(info);
  }
  return std::nullopt;
}

}  // namespace snapvol::fs
