#include "e2e/mount_fixture.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "driver/core/names.h"
#include "driver/fs/fuse_connection.h"
#include "driver/volume/file_reader.h"

namespace snapvol::e2e {
namespace {

namespace stdfs = std::filesystem;

bool FuseUsable(std::string* why) {
  if (::geteuid() != 0) {
    *why = "e2e mount tests need root";
    return false;
  }
  int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = std::string("/dev/fuse is unusable: ") + std::strerror(errno);
    return false;
  }
  ::close(fd);
  return true;
}

// Whether `pid` still runs (a zombie waiting for init to reap it does not).
bool Alive(int pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z') return true;
  // A zombie leader whose other threads are still exiting (finishing a disk
  // write) still holds the process's descriptors, and so its mount lock.
  std::error_code ec;
  size_t threads = 0;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    (void)t;
    ++threads;
  }
  return threads > 1;
}

}  // namespace

bool WriteFile(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return ::close(fd) == 0;
}

std::optional<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool ServerAlive(int pid) { return Alive(pid); }

int ErrnoOf(int rc) { return rc < 0 ? errno : 0; }

int PiecesFailingWithEio(const std::string& path, const std::string& expected) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::string buf(1 << 20, '\0');
  int eio = 0;
  for (size_t off = 0; off < expected.size(); off += buf.size()) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0) {
      EXPECT_EQ(errno, EIO) << "at " << off;
      ++eio;
      continue;
    }
    EXPECT_EQ(buf.substr(0, static_cast<size_t>(n)), expected.substr(off, static_cast<size_t>(n)))
        << "served wrong bytes at " << off;
  }
  ::close(fd);
  return eio;
}

int DamageChunkObjects(const std::string& store_dir, off_t at, char to,
                       const std::function<bool(char)>& pick) {
  int damaged = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(store_dir + "/objects")) {
    if (!e.is_regular_file() || e.file_size() < (1 << 20)) continue;
    int fd = ::open(e.path().c_str(), O_RDWR | O_CLOEXEC);
    EXPECT_GE(fd, 0) << e.path();
    if (fd < 0) continue;
    char c;
    if (::pread(fd, &c, 1, at) != 1) {
      ADD_FAILURE() << "reading " << e.path() << ": " << std::strerror(errno);
    } else if (pick(c)) {
      if (::pwrite(fd, &to, 1, at) == 1) {
        ++damaged;
      } else {
        ADD_FAILURE() << "damaging " << e.path() << ": " << std::strerror(errno);
      }
    }
    ::close(fd);
  }
  return damaged;
}

bool IsMounted(const std::string& mountpoint) {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string id, parent, dev, root, mp;
    in >> id >> parent >> dev >> root >> mp;
    if (mp == mountpoint) return true;
  }
  return false;
}

int RunAsNobody(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(99);
    _exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int RunAsRootWithoutCapabilities(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capset, &header, data) != 0) _exit(99);
    _exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void MountFixture::SetUp() {
  std::string why;
  if (!FuseUsable(&why)) GTEST_SKIP() << why;
  ::setenv("SNAPVOL_MOUNT_SERVER", SNAPVOL_MOUNT_SERVER_PATH, 1);
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "-" + info->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  dir_ = "/tmp/snapvol-e2e-" + std::to_string(::getpid()) + "-" + name;
  std::error_code ec;
  stdfs::remove_all(dir_, ec);
  stdfs::create_directories(dir_ + "/store");
  // Readable by the unprivileged user of the non-root tests.
  ::chmod(dir_.c_str(), 0755);
  store_dir_ = dir_ + "/store";
  state_dir_ = dir_ + "/state";
  auto st = store::OpenStore(store_dir_, core::Env::Default());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  store_ = std::move(*st);
  engine_ = std::make_unique<volume::Engine>(store_.get(), core::Env::Default());
  volume::CreateVolumeOptions vo;
  if (inode_limit_ != 0) vo.inode_limit = inode_limit_;
  auto v = engine_->CreateVolume("main", volume_name_, vo);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
}

void MountFixture::TearDown() {
  for (const std::string& mp : mounts_) {
    if (!IsMounted(mp)) continue;
    int pid = ServerPid(mp);
    if (pid > 0) pids_.push_back(pid);
    fs::Status s = fs::Unmount(mp);
    if (IsMounted(mp)) ::umount2(mp.c_str(), MNT_DETACH);
  }
  for (int pid : pids_) {
    if (Alive(pid)) ::kill(pid, SIGKILL);
  }
  // Servers exit asynchronously after the unmount; give them a moment so
  // the directory can go.
  for (int i = 0; i < 100; ++i) {
    bool alive = false;
    for (int pid : pids_) alive |= Alive(pid);
    if (!alive) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  engine_.reset();
  store_.reset();
  if (!dir_.empty() && !HasFailure()) {
    std::error_code ec;
    stdfs::remove_all(dir_, ec);
  }
}

fs::MountOptions MountFixture::Options() const {
  fs::MountOptions o;
  o.store = store_dir_;
  o.environment = "main";
  o.volume = volume_name_;
  o.state_dir = state_dir_;
  o.commit_interval = std::chrono::milliseconds(0);
  return o;
}

std::string MountFixture::MountAt(const std::string& name, fs::MountOptions options) {
  const std::string mp = dir_ + "/" + name;
  std::error_code ec;
  stdfs::create_directories(mp, ec);
  options.mountpoint = mp;
  mounts_.push_back(mp);
  fs::Status s = fs::Mount(options);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (s.ok()) {
    int pid = ServerPid(mp);
    if (pid > 0) pids_.push_back(pid);
  }
  return mp;
}

int MountFixture::ServerPid(const std::string& mountpoint) {
  auto st = fs::StatusOf(mountpoint);
  return st.ok() ? st->pid : -1;
}

void MountFixture::KillServer(const std::string& mountpoint, int sig) {
  int pid = ServerPid(mountpoint);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, sig), 0);
  if (sig == SIGKILL) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)fs::AbortFuseConnection(mountpoint);  // see fuse_connection.h
  }
  for (int i = 0; i < 1500 && Alive(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(Alive(pid)) << "server " << pid << " did not exit";
  if (IsMounted(mountpoint)) ::umount2(mountpoint.c_str(), MNT_DETACH);
}

std::optional<std::string> MountFixture::HeadFile(const std::string& path) {
  auto snap = engine_->Head(volume());
  if (!snap.ok()) return std::nullopt;
  auto parts = core::SplitVolumePath(path);
  if (!parts.ok()) return std::nullopt;
  auto e = engine_->Lookup(*snap, *parts);
  if (!e.ok() || !e->has_value() || (*e)->type() != objects::FILE) return std::nullopt;
  auto r = volume::FileReader::Open(&engine_->objects(), (*e)->content(), (*e)->size());
  if (!r.ok()) return std::nullopt;
  std::string out((*e)->size(), '\0');
  auto n = (*r)->ReadAt(0, out.size(), out.data());
  if (!n.ok()) return std::nullopt;
  out.resize(*n);
  return out;
}

}  // namespace snapvol::e2e
