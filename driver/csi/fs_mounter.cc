#include "driver/csi/fs_mounter.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "driver/csi/log.h"
#include "driver/fs/control_json.h"
#include "driver/fs/mount.h"
#include "driver/fs/mount_inspect.h"
#include "driver/fs/mount_table.h"
#include "driver/fs/state_layout.h"

extern char** environ;

namespace snapvol::csi {

using nlohmann::json;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// A dead FUSE mount is found without touching it (mount table only).
bool IsMountPoint(const std::string& path) {
  char buf[PATH_MAX];
  return fs::FindMount(::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path)
      .has_value();
}

Status ApplyMountGroup(const std::string& root, uint32_t gid) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) return Status::FromErrno(errno, "stat mount root " + root);
  const mode_t want = (st.st_mode & 07777) | S_IRWXG | S_ISGID;
  if (st.st_gid == gid && (st.st_mode & 07777) == want) return Status::Ok();
  // Through the mount, as root: a private change of the root's attributes,
  // committed like any other (the next pod with this fsGroup finds it set).
  if (::chown(root.c_str(), static_cast<uid_t>(-1), gid) != 0) {
    return Status::FromErrno(errno, "give mount root " + root + " to group " + std::to_string(gid));
  }
  if (::chmod(root.c_str(), want) != 0) {
    return Status::FromErrno(errno, "make mount root " + root + " group-writable");
  }
  return Status::Ok();
}

std::string FsMounter::StateDir() const {
  return options_.state_dir.empty() ? fs::DefaultStateDir(options_.store) : options_.state_dir;
}

Status FsMounter::Mount(const MountSpec& spec) {
  json j = {{"store", options_.store},
            {"state_dir", StateDir()},
            {"environment", spec.environment},
            {"volume", spec.volume},
            {"mountpoint", spec.target_path},
            {"commit_interval_ms",
             spec.commit_interval.value_or(options_.default_commit_interval).count()},
            {"read_only", spec.read_only},
            {"version", spec.version.value_or(0)},
            {"pod", spec.author.pod()},
            {"pod_namespace", spec.author.pod_namespace()},
            {"container", spec.author.container()}};
  if (!options_.mount_cgroup.empty()) j["cgroup"] = options_.mount_cgroup;
  char error_file[] = "/tmp/snapvol-mount-error-XXXXXX";
  int fd = ::mkstemp(error_file);
  if (fd < 0) return Status::FromErrno(errno, "create mount helper error file");
  ::close(fd);
  std::string arg_json = j.dump();
  std::string helper = options_.helper_binary;
  char* argv[] = {helper.data(), const_cast<char*>("__mount"), arg_json.data(), error_file,
                  nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int stdfd = 0; stdfd < 3; stdfd++) {
    posix_spawn_file_actions_addopen(&actions, stdfd, "/dev/null", stdfd == 0 ? O_RDONLY : O_WRONLY,
                                     0);
  }
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, helper.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ::unlink(error_file);
    return Status::FromErrno(rc, "start mount helper " + helper);
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  std::string error = ReadAll(error_file);
  ::unlink(error_file);
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
    if (!error.empty()) LOG_CSI(kWarning) << "mount at " << spec.target_path << ": " << error;
    // Trust but verify: a server that reported ready and died at once would
    // otherwise leave pods writing into the bare target directory.
    if (!IsMountPoint(spec.target_path)) {
      return Status::Unavailable("the mount server reported ready but nothing is mounted at " +
                                 spec.target_path + " (see its server.log under " + StateDir() +
                                 "/mounts)");
    }
    if (spec.mount_group && !spec.read_only) {
      if (Status st = ApplyMountGroup(spec.target_path, *spec.mount_group); !st.ok()) {
        if (Status down = fs::Unmount(spec.target_path); !down.ok()) {
          LOG_CSI(kWarning) << "unmount " << spec.target_path << ": " << down.ToString();
        }
        return st;
      }
    }
    return Status::Ok();
  }
  if (error.empty()) error = "mount helper exited with status " + std::to_string(wstatus);
  while (!error.empty() && error.back() == '\n') error.pop_back();
  // The helper writes "<CodeName>: message"; keep its code for the CO.
  auto colon = error.find(": ");
  core::Code code = core::Code::kInternal;
  if (colon != std::string::npos) {
    std::string name = error.substr(0, colon);
    for (int c = 0; c <= static_cast<int>(core::Code::kInternal); c++) {
      if (core::CodeName(static_cast<core::Code>(c)) == name) {
        code = static_cast<core::Code>(c);
        error = error.substr(colon + 2);
      }
    }
  }
  return Status(code, error);
}

namespace {

// Moves this process into `cgroup` of the host's cgroup v2 hierarchy; see
// FsMounterOptions::mount_cgroup. Children (the mount server) inherit it.
Status EscapeCgroup(const std::string& cgroup) {
  int ns = ::open("/proc/1/ns/cgroup", O_RDONLY | O_CLOEXEC);
  if (ns < 0) return Status::FromErrno(errno, "open the host cgroup namespace");
  int rc = ::setns(ns, CLONE_NEWCGROUP);
  int e = errno;
  ::close(ns);
  if (rc != 0) return Status::FromErrno(e, "enter the host cgroup namespace");
  if (::mkdir(cgroup.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "create cgroup " + cgroup);
  }
  std::ofstream procs(cgroup + "/cgroup.procs");
  procs << ::getpid() << "\n";
  procs.flush();
  if (!procs)
    return Status(core::Code::kIOError, "move mount helper into " + cgroup + "/cgroup.procs");
  return Status::Ok();
}

}  // namespace

int RunMountHelper(int argc, char** argv) {
  if (argc != 4) return 2;
  std::string error_file = argv[3];
  auto fail = [&](const Status& st) {
    std::ofstream(error_file) << st.ToString() << "\n";
    return 1;
  };
  fs::MountOptions o;
  try {
    json j = json::parse(argv[2]);
    o.store = j.at("store").get<std::string>();
    o.state_dir = j.at("state_dir").get<std::string>();
    o.environment = j.at("environment").get<std::string>();
    o.volume = j.at("volume").get<std::string>();
    o.mountpoint = j.at("mountpoint").get<std::string>();
    o.commit_interval = std::chrono::milliseconds(j.at("commit_interval_ms").get<int64_t>());
    o.read_only = j.at("read_only").get<bool>();
    o.version = j.at("version").get<uint64_t>();
    o.author_tool = "csi";
    o.pod = j.value("pod", "");
    o.pod_namespace = j.value("pod_namespace", "");
    o.container = j.value("container", "");
  } catch (const std::exception& e) {
    return fail(Status::InvalidArgument(std::string("mount helper arguments: ") + e.what()));
  }
  std::string cgroup;
  try {
    cgroup = json::parse(argv[2]).value("cgroup", "");
  } catch (const std::exception&) {
  }
  if (!cgroup.empty()) {
    if (Status st = EscapeCgroup(cgroup); !st.ok()) {
      // Still mount: the volume works, it only dies with the driver container.
      std::ofstream(error_file) << "warning: " << st.ToString() << "\n";
    }
  }
  Status st = fs::Mount(o);
  if (!st.ok()) return fail(st);
  return 0;
}

Status FsMounter::Unmount(const std::string& target) {
  bool recorded = fs::RecordedMountAt(StateDir(), target).has_value();
  if (!recorded && !IsMountPoint(target)) return Status::NotFound("no snapvol mount at " + target);
  Status st = fs::Unmount(target);
  if (st.ok()) return st;
  const fs::MountInspection found = fs::InspectMount(target);
  if (found.presence == fs::MountPresence::kLive)
    return st;  // still serving (busy...): retry later
  if (found.presence != fs::MountPresence::kAbsent) {
    // The server is gone (mount_inspect.h): detach, then recover below.
    LOG_CSI(kWarning) << "unmount " << target << ": " << st.ToString() << "; detaching";
    RETURN_IF_ERROR(fs::DetachDeadMount(target));
  }
  // The server is gone. What it could not commit (dead server, or a final
  // commit that failed) is in its state directory: commit it now if the
  // store answers; otherwise it stays there for the periodic recovery.
  if (Status r = Recover(); !r.ok()) LOG_CSI(kWarning) << "recover: " << r.ToString();
  if (!fs::RecordedMountAt(StateDir(), target)) {
    LOG_CSI(kInfo) << "unmount " << target << ": " << st.ToString()
                   << "; its changes were committed by recovery";
    return Status::Ok();
  }
  return st;
}

Result<MountCommit> FsMounter::Commit(const std::string& target, const std::string&) {
  auto info = fs::CommitMount(target);
  if (!info.ok()) return info.status();
  return MountCommit{info->version, info->empty};
}

Result<uint64_t> FsMounter::Reload(const std::string& target) {
  RETURN_IF_ERROR(fs::ReloadMount(target));
  auto status = fs::StatusOf(target);
  if (!status.ok()) return status.status();
  return status->version;
}

Result<MountState> FsMounter::Inspect(const std::string& target) {
  fs::MountInspection found = fs::InspectMount(target);
  if (found.presence == fs::MountPresence::kLive) {
    const fs::MountStatus& status = found.status;
    MountState s;
    s.healthy = true;
    s.base_version = status.version;
    s.pending_operations = status.pending;
    s.pid = status.pid;
    s.read_only = status.read_only;
    s.commit_interval_ms = static_cast<uint64_t>(std::max<int64_t>(0, status.commit_interval_ms));
    if (status.has_last_commit && !status.last_commit_ok) {
      s.message = "last commit failed: " + status.last_commit_error;
    }
    return s;
  }
  auto recorded = fs::RecordedMountAt(StateDir(), target);
  if (!recorded && found.presence == fs::MountPresence::kAbsent) {
    return Status::NotFound("no snapvol mount at " + target);
  }
  MountState s;
  s.healthy = false;
  s.message = found.error.ToString();
  if (recorded) {
    s.pid = recorded->pid;
    s.base_version = recorded->base_version;
    s.read_only = recorded->read_only;
  }
  return s;
}

Result<MountUsage> FsMounter::Usage(const std::string& target) {
  struct statvfs st {};
  if (::statvfs(target.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "statfs " + target);
  }
  MountUsage u;
  u.bytes_total = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
  u.bytes_available = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  u.bytes_used = u.bytes_total - static_cast<uint64_t>(st.f_bfree) * st.f_frsize;
  u.inodes_total = st.f_files;
  u.inodes_free = st.f_ffree;
  u.inodes_used = st.f_files - st.f_ffree;
  return u;
}

Status FsMounter::Recover() {
  auto report = fs::Recover(options_.store, StateDir());
  if (!report.ok()) return report.status();
  for (const auto& m : report->mounts) {
    if (m.committed) {
      LOG_CSI(kInfo) << "recovered mount " << m.mount_id << " of " << m.environment << "/"
                     << m.volume << " (" << m.mountpoint << "): version " << m.commit.version;
    } else if (!m.error.empty()) {
      LOG_CSI(kWarning) << "could not recover mount " << m.mount_id << " of " << m.environment
                        << "/" << m.volume << ": " << m.error << " (retried later)";
    }
  }
  return Status::Ok();
}

}  // namespace snapvol::csi
