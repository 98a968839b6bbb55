// POSIX conformance of a read-write mount, behaviour class by behaviour class
// as pjdfstest checks it (issue 3): errnos of bad calls, permission rules for
// unprivileged users, set-id bits, times and link counts. Our own tests on a
// real FUSE mount; where the mount differs from POSIX on purpose or by a
// kernel/FUSE limit, the test asserts what it does and says why
// (docs/mount.md "POSIX conformance"). Needs root.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/mount_fixture.h"

namespace snapvol::e2e {
namespace {

constexpr uid_t kUser = 65534;
constexpr uid_t kOther = 65533;

// 0 if `rc` says success, else errno.
int E(long rc) { return rc < 0 ? errno : 0; }

// Runs `fn` in a child with the given credentials and returns what `fn`
// returned (an errno or 0; 255 if the credentials could not be set).
int As(uid_t uid, gid_t gid, const std::vector<gid_t>& groups, const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0) {
      ::_exit(255);
    }
    ::_exit(fn() & 0xff);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
int As(uid_t uid, const std::function<int()>& fn) { return As(uid, uid, {}, fn); }

struct stat Lstat(const std::string& p) {
  struct stat st;
  std::memset(&st, 0, sizeof(st));
  if (::lstat(p.c_str(), &st) != 0) ADD_FAILURE() << "lstat " << p << ": " << std::strerror(errno);
  return st;
}
uint32_t Mode(const std::string& p) { return Lstat(p).st_mode & 07777; }
int64_t Ns(const struct timespec& t) { return t.tv_sec * 1'000'000'000LL + t.tv_nsec; }
int64_t Ctime(const std::string& p) { return Ns(Lstat(p).st_ctim); }
int64_t Mtime(const std::string& p) { return Ns(Lstat(p).st_mtim); }
// Lets the clock move so a time change is visible (the mount keeps ns).
void Tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

// Runs `call` (0 = success) and expects it to move mtime and ctime of `p`.
void ExpectTimesMove(const std::string& p, const std::function<int()>& call) {
  const int64_t m0 = Mtime(p), c0 = Ctime(p);
  Tick();
  ASSERT_EQ(call(), 0);
  EXPECT_GT(Mtime(p), m0) << "mtime of " << p;
  EXPECT_GT(Ctime(p), c0) << "ctime of " << p;
}

bool Touch(const std::string& p, mode_t mode = 0644) {
  int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// The file types pjdfstest cycles through; `Make` creates one at `p`.
enum class Type { kFile, kDir, kFifo, kChar, kSocket, kSymlink };
const Type kTypes[] = {Type::kFile, Type::kDir,    Type::kFifo,
                       Type::kChar, Type::kSocket, Type::kSymlink};
const char* Name(Type t) {
  switch (t) {
    case Type::kFile:
      return "regular";
    case Type::kDir:
      return "dir";
    case Type::kFifo:
      return "fifo";
    case Type::kChar:
      return "char";
    case Type::kSocket:
      return "socket";
    case Type::kSymlink:
      return "symlink";
  }
  return "?";
}
int Make(Type t, const std::string& p, mode_t mode = 0644) {
  switch (t) {
    case Type::kFile:
      return Touch(p, mode) ? 0 : errno;
    case Type::kDir:
      return E(::mkdir(p.c_str(), mode));
    case Type::kFifo:
      return E(::mkfifo(p.c_str(), mode));
    case Type::kChar:
      return E(::mknod(p.c_str(), S_IFCHR | mode, ::makedev(1, 3)));
    case Type::kSocket:
      return E(::mknod(p.c_str(), S_IFSOCK | mode, 0));
    case Type::kSymlink:
      return E(::symlink("target", p.c_str()));
  }
  return EINVAL;
}
int Remove(Type t, const std::string& p) {
  return t == Type::kDir ? E(::rmdir(p.c_str())) : E(::unlink(p.c_str()));
}

class PjdfstestTest : public MountFixture {
 protected:
  void SetUp() override {
    MountFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    old_umask_ = ::umask(022);
    // The test directory above the mount is 0755; the mount root as well.
    m_ = MountAt("m");
    // A directory everybody may use, like pjdfstest's work directory.
    ASSERT_EQ(::mkdir((m_ + "/w").c_str(), 0755), 0);
    ASSERT_EQ(::chmod((m_ + "/w").c_str(), 0777), 0);
    w_ = m_ + "/w";
  }
  void TearDown() override {
    ::umask(old_umask_);
    MountFixture::TearDown();
  }
  std::string P(const std::string& rel) const { return w_ + "/" + rel; }

  std::string m_, w_;
  mode_t old_umask_ = 022;
};

// ---------------------------------------------------------------------------
// ENAMETOOLONG: a 255-byte component works, 256 bytes fail for every call
// that takes a name; paths of PATH_MAX bytes fail.

TEST_F(PjdfstestTest, NameTooLong) {
  const std::string n255(255, 'x');
  const std::string n256(256, 'y');
  // 255 works for each creating call.
  ASSERT_TRUE(Touch(P(n255))) << std::strerror(errno);
  EXPECT_EQ(E(::chmod(P(n255).c_str(), 0600)), 0);
  EXPECT_EQ(E(::unlink(P(n255).c_str())), 0);
  EXPECT_EQ(E(::mkdir(P(n255).c_str(), 0755)), 0);
  EXPECT_EQ(E(::rmdir(P(n255).c_str())), 0);
  EXPECT_EQ(E(::mkfifo(P(n255).c_str(), 0644)), 0);
  EXPECT_EQ(E(::unlink(P(n255).c_str())), 0);
  EXPECT_EQ(E(::symlink("t", P(n255).c_str())), 0);
  EXPECT_EQ(E(::unlink(P(n255).c_str())), 0);
  ASSERT_TRUE(Touch(P("f")));
  EXPECT_EQ(E(::link(P("f").c_str(), P(n255).c_str())), 0);
  EXPECT_EQ(E(::unlink(P(n255).c_str())), 0);
  EXPECT_EQ(E(::rename(P("f").c_str(), P(n255).c_str())), 0);
  EXPECT_EQ(E(::rename(P(n255).c_str(), P("f").c_str())), 0);

  // 256 fails for each call.
  const std::string p256 = P(n256);
  EXPECT_EQ(E(::open(p256.c_str(), O_CREAT | O_WRONLY, 0644)), ENAMETOOLONG) << "open O_CREAT";
  EXPECT_EQ(E(::open(p256.c_str(), O_RDONLY)), ENAMETOOLONG) << "open";
  EXPECT_EQ(E(::mkdir(p256.c_str(), 0755)), ENAMETOOLONG) << "mkdir";
  EXPECT_EQ(E(::rmdir(p256.c_str())), ENAMETOOLONG) << "rmdir";
  EXPECT_EQ(E(::mkfifo(p256.c_str(), 0644)), ENAMETOOLONG) << "mkfifo";
  EXPECT_EQ(E(::mknod(p256.c_str(), S_IFIFO | 0644, 0)), ENAMETOOLONG) << "mknod";
  EXPECT_EQ(E(::symlink("t", p256.c_str())), ENAMETOOLONG) << "symlink name";
  EXPECT_EQ(E(::link(P("f").c_str(), p256.c_str())), ENAMETOOLONG) << "link";
  EXPECT_EQ(E(::link(p256.c_str(), P("g").c_str())), ENAMETOOLONG) << "link source";
  EXPECT_EQ(E(::rename(P("f").c_str(), p256.c_str())), ENAMETOOLONG) << "rename to";
  EXPECT_EQ(E(::rename(p256.c_str(), P("f").c_str())), ENAMETOOLONG) << "rename from";
  EXPECT_EQ(E(::unlink(p256.c_str())), ENAMETOOLONG) << "unlink";
  EXPECT_EQ(E(::chmod(p256.c_str(), 0644)), ENAMETOOLONG) << "chmod";
  EXPECT_EQ(E(::chown(p256.c_str(), 0, 0)), ENAMETOOLONG) << "chown";
  EXPECT_EQ(E(::lchown(p256.c_str(), 0, 0)), ENAMETOOLONG) << "lchown";
  EXPECT_EQ(E(::truncate(p256.c_str(), 0)), ENAMETOOLONG) << "truncate";
  EXPECT_EQ(E(::utimensat(AT_FDCWD, p256.c_str(), nullptr, 0)), ENAMETOOLONG) << "utimensat";

  // A path of PATH_MAX bytes or more (of short, existing-looking components).
  std::string longpath = w_;
  while (longpath.size() < PATH_MAX) longpath += "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  EXPECT_EQ(E(::open(longpath.c_str(), O_CREAT | O_WRONLY, 0644)), ENAMETOOLONG);
  EXPECT_EQ(E(::mkdir(longpath.c_str(), 0755)), ENAMETOOLONG);
  EXPECT_EQ(E(::chmod(longpath.c_str(), 0644)), ENAMETOOLONG);
  EXPECT_EQ(E(::unlink(longpath.c_str())), ENAMETOOLONG);
  EXPECT_EQ(E(::symlink("t", longpath.c_str())), ENAMETOOLONG);
  // Symlink targets: up to PATH_MAX-1 bytes are stored and read back whole.
  const std::string target(PATH_MAX - 1, 't');
  ASSERT_EQ(E(::symlink(target.c_str(), P("longlink").c_str())), 0);
  std::string buf(PATH_MAX, '\0');
  EXPECT_EQ(::readlink(P("longlink").c_str(), buf.data(), buf.size()),
            static_cast<ssize_t>(target.size()));
  EXPECT_EQ(Lstat(P("longlink")).st_size, static_cast<off_t>(target.size()));
  EXPECT_EQ(E(::symlink(std::string(PATH_MAX, 't').c_str(), P("toolong").c_str())), ENAMETOOLONG);
}

// ---------------------------------------------------------------------------
// ENOENT, ENOTDIR, ELOOP, EEXIST, EISDIR, ENOTEMPTY, EINVAL.

TEST_F(PjdfstestTest, ErrnosOfBadPaths) {
  ASSERT_TRUE(Touch(P("file")));
  ASSERT_EQ(::mkdir(P("dir").c_str(), 0755), 0);
  // ENOENT: a missing final component or prefix.
  EXPECT_EQ(E(::open(P("none").c_str(), O_RDONLY)), ENOENT);
  EXPECT_EQ(E(::open(P("none/x").c_str(), O_CREAT | O_WRONLY, 0644)), ENOENT);
  EXPECT_EQ(E(::mkdir(P("none/x").c_str(), 0755)), ENOENT);
  EXPECT_EQ(E(::chmod(P("none").c_str(), 0644)), ENOENT);
  EXPECT_EQ(E(::chown(P("none").c_str(), 0, 0)), ENOENT);
  EXPECT_EQ(E(::unlink(P("none").c_str())), ENOENT);
  EXPECT_EQ(E(::rmdir(P("none").c_str())), ENOENT);
  EXPECT_EQ(E(::truncate(P("none").c_str(), 0)), ENOENT);
  EXPECT_EQ(E(::rename(P("none").c_str(), P("x").c_str())), ENOENT);
  EXPECT_EQ(E(::link(P("none").c_str(), P("x").c_str())), ENOENT);
  EXPECT_EQ(E(::symlink("t", P("none/x").c_str())), ENOENT);
  EXPECT_EQ(E(::utimensat(AT_FDCWD, P("none").c_str(), nullptr, 0)), ENOENT);
  EXPECT_EQ(E(::mkfifo(P("none/x").c_str(), 0644)), ENOENT);
  // A dangling symlink: following calls see ENOENT, O_CREAT creates the target.
  ASSERT_EQ(::symlink("dangling-target", P("dangling").c_str()), 0);
  EXPECT_EQ(E(::chmod(P("dangling").c_str(), 0644)), ENOENT);
  EXPECT_EQ(E(::open(P("dangling").c_str(), O_RDONLY)), ENOENT);
  EXPECT_EQ(E(::close(::open(P("dangling").c_str(), O_CREAT | O_WRONLY, 0644))), 0);
  EXPECT_TRUE(S_ISREG(Lstat(P("dangling-target")).st_mode)) << "O_CREAT through a symlink";

  // ENOTDIR: a file used as a directory in the prefix, and calls that need
  // a directory.
  EXPECT_EQ(E(::open(P("file/x").c_str(), O_CREAT | O_WRONLY, 0644)), ENOTDIR);
  EXPECT_EQ(E(::mkdir(P("file/x").c_str(), 0755)), ENOTDIR);
  EXPECT_EQ(E(::chmod(P("file/x").c_str(), 0644)), ENOTDIR);
  EXPECT_EQ(E(::unlink(P("file/x").c_str())), ENOTDIR);
  EXPECT_EQ(E(::rename(P("file/x").c_str(), P("x").c_str())), ENOTDIR);
  EXPECT_EQ(E(::rename(P("dir").c_str(), P("file/x").c_str())), ENOTDIR);
  EXPECT_EQ(E(::link(P("file").c_str(), P("file/x").c_str())), ENOTDIR);
  EXPECT_EQ(E(::symlink("t", P("file/x").c_str())), ENOTDIR);
  EXPECT_EQ(E(::rmdir(P("file").c_str())), ENOTDIR);
  EXPECT_EQ(E(::open(P("file").c_str(), O_RDONLY | O_DIRECTORY)), ENOTDIR);
  EXPECT_EQ(E(::open(P("dir").c_str(), O_CREAT | O_RDONLY, 0644)), EISDIR);
  EXPECT_EQ(E(::open(P("dir").c_str(), O_CREAT | O_EXCL | O_RDONLY, 0644)), EEXIST);
  EXPECT_EQ(E(::rename(P("dir").c_str(), P("file").c_str())), ENOTDIR) << "a directory over a file";

  // EISDIR.
  EXPECT_EQ(E(::open(P("dir").c_str(), O_WRONLY)), EISDIR);
  EXPECT_EQ(E(::open(P("dir").c_str(), O_RDWR)), EISDIR);
  EXPECT_EQ(E(::truncate(P("dir").c_str(), 0)), EISDIR);
  EXPECT_EQ(E(::unlink(P("dir").c_str())), EISDIR) << "Linux answers EISDIR";
  EXPECT_EQ(E(::rename(P("file").c_str(), P("dir").c_str())), EISDIR) << "a file over a dir";

  // EEXIST for each type at the target of each creating call.
  for (Type t : kTypes) {
    SCOPED_TRACE(Name(t));
    ASSERT_EQ(Make(t, P("e")), 0);
    EXPECT_EQ(E(::mkdir(P("e").c_str(), 0755)), EEXIST);
    EXPECT_EQ(E(::mkfifo(P("e").c_str(), 0644)), EEXIST);
    EXPECT_EQ(E(::mknod(P("e").c_str(), S_IFSOCK | 0644, 0)), EEXIST);
    EXPECT_EQ(E(::symlink("t", P("e").c_str())), EEXIST);
    EXPECT_EQ(E(::link(P("file").c_str(), P("e").c_str())), EEXIST);
    EXPECT_EQ(E(::open(P("e").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)), EEXIST);
    EXPECT_EQ(
        E(::renameat2(AT_FDCWD, P("file").c_str(), AT_FDCWD, P("e").c_str(), RENAME_NOREPLACE)),
        EEXIST);
    EXPECT_EQ(Remove(t, P("e")), 0);
  }

  // ENOTEMPTY (POSIX also allows EEXIST; Linux says ENOTEMPTY).
  ASSERT_TRUE(Touch(P("dir/inner")));
  ASSERT_EQ(::mkdir(P("dir2").c_str(), 0755), 0);
  EXPECT_EQ(E(::rmdir(P("dir").c_str())), ENOTEMPTY);
  EXPECT_EQ(E(::rename(P("dir2").c_str(), P("dir").c_str())), ENOTEMPTY);

  // EINVAL: a directory into its own subtree, rmdir of ".".
  ASSERT_EQ(::mkdir(P("dir/sub").c_str(), 0755), 0);
  EXPECT_EQ(E(::rename(P("dir").c_str(), P("dir/sub/x").c_str())), EINVAL);
  EXPECT_EQ(E(::rename(P("dir").c_str(), P("dir/x").c_str())), EINVAL);
  EXPECT_EQ(E(::rmdir(P("dir/.").c_str())), EINVAL);
  EXPECT_EQ(E(::rmdir(P("dir/sub/..").c_str())), ENOTEMPTY);
  EXPECT_EQ(E(::truncate(P("file").c_str(), -1)), EINVAL);
  int fd = ::open(P("file").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(E(::ftruncate(fd, 0)), EINVAL) << "ftruncate of a read-only descriptor";
  ::close(fd);

  // EPERM: no hard links to directories.
  EXPECT_EQ(E(::link(P("dir").c_str(), P("dirlink").c_str())), EPERM);

  // ELOOP: symlink loops, and O_NOFOLLOW on a symlink.
  ASSERT_EQ(::symlink("loop2", P("loop1").c_str()), 0);
  ASSERT_EQ(::symlink("loop1", P("loop2").c_str()), 0);
  EXPECT_EQ(E(::open(P("loop1").c_str(), O_RDONLY)), ELOOP);
  EXPECT_EQ(E(::open(P("loop1/x").c_str(), O_CREAT | O_WRONLY, 0644)), ELOOP);
  EXPECT_EQ(E(::mkdir(P("loop1/x").c_str(), 0755)), ELOOP);
  EXPECT_EQ(E(::chmod(P("loop1").c_str(), 0644)), ELOOP);
  EXPECT_EQ(E(::chown(P("loop1").c_str(), 0, 0)), ELOOP);
  EXPECT_EQ(E(::truncate(P("loop1").c_str(), 0)), ELOOP);
  EXPECT_EQ(E(::unlink(P("loop1/x").c_str())), ELOOP);
  EXPECT_EQ(E(::rename(P("loop1/x").c_str(), P("y").c_str())), ELOOP);
  ASSERT_EQ(::symlink("file", P("tofile").c_str()), 0);
  EXPECT_EQ(E(::open(P("tofile").c_str(), O_RDONLY | O_NOFOLLOW)), ELOOP);
  // The loop itself can be removed and renamed (no following).
  EXPECT_EQ(E(::rename(P("loop1").c_str(), P("loop3").c_str())), 0);
  EXPECT_EQ(E(::unlink(P("loop3").c_str())), 0);
}

// ---------------------------------------------------------------------------
// Modes: chmod on each type (through symlinks too), the umask on creation,
// set-gid rules of chmod.

TEST_F(PjdfstestTest, ChmodAndCreationModes) {
  for (Type t : kTypes) {
    if (t == Type::kSymlink) continue;
    SCOPED_TRACE(Name(t));
    ASSERT_EQ(Make(t, P("n0")), 0);
    EXPECT_EQ(E(::chmod(P("n0").c_str(), 0111)), 0);
    EXPECT_EQ(Mode(P("n0")), 0111u);
    // chmod follows a symlink; the link's own mode stays.
    ASSERT_EQ(::symlink("n0", P("n1").c_str()), 0);
    const uint32_t link_mode = Mode(P("n1"));
    EXPECT_EQ(E(::chmod(P("n1").c_str(), 0222)), 0);
    EXPECT_EQ(Mode(P("n0")), 0222u);
    EXPECT_EQ(Mode(P("n1")), link_mode);
    EXPECT_EQ(E(::unlink(P("n1").c_str())), 0);
    EXPECT_EQ(E(::chmod(P("n0").c_str(), 07777)), 0);
    EXPECT_EQ(Mode(P("n0")), 07777u) << "root keeps all twelve bits";
    EXPECT_EQ(Remove(t, P("n0")), 0);
  }

  // Creation modes are masked by the umask.
  ::umask(0027);
  ASSERT_TRUE(Touch(P("f"), 0777));
  EXPECT_EQ(Mode(P("f")), 0750u);
  ASSERT_EQ(::mkdir(P("d").c_str(), 0777), 0);
  EXPECT_EQ(Mode(P("d")), 0750u);
  ASSERT_EQ(::mkfifo(P("p").c_str(), 0666), 0);
  EXPECT_EQ(Mode(P("p")), 0640u);
  ASSERT_EQ(::mknod(P("s").c_str(), S_IFSOCK | 0666, 0), 0);
  EXPECT_EQ(Mode(P("s")), 0640u);
  ::umask(0);
  ASSERT_TRUE(Touch(P("f2"), 07777));
  EXPECT_EQ(Mode(P("f2")), 07777u) << "root may create set-id files";
  ASSERT_EQ(::mkdir(P("d2").c_str(), 01777), 0);
  EXPECT_EQ(Mode(P("d2")), 01777u) << "mkdir keeps the sticky bit";
  ::umask(022);

  // Set-gid by a non-member owner is dropped silently (Linux), by a member
  // it stays.
  ASSERT_TRUE(Touch(P("g"), 0755));
  ASSERT_EQ(::chown(P("g").c_str(), kUser, kUser), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod(P("g").c_str(), 02755)); }), 0);
  EXPECT_EQ(Mode(P("g")), 02755u);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod(P("g").c_str(), 0755)); }), 0);
  EXPECT_EQ(Mode(P("g")), 0755u);
  EXPECT_EQ(As(kUser, kOther, {}, [&] { return E(::chmod(P("g").c_str(), 02755)); }), 0);
  EXPECT_EQ(Mode(P("g")), 0755u) << "set-gid of a non-member must be cleared";
  // Non-owners may not chmod: EPERM, and ctime does not move.
  for (Type t : kTypes) {
    if (t == Type::kSymlink) continue;
    SCOPED_TRACE(Name(t));
    ASSERT_EQ(Make(t, P("n0")), 0);
    const int64_t c1 = Ctime(P("n0"));
    Tick();
    EXPECT_EQ(As(kUser, [&] { return E(::chmod(P("n0").c_str(), 0777)); }), EPERM);
    EXPECT_EQ(Mode(P("n0")), 0644u);
    EXPECT_EQ(Ctime(P("n0")), c1) << "a failed chmod changed ctime";
    Tick();
    EXPECT_EQ(E(::chmod(P("n0").c_str(), 0600)), 0);
    EXPECT_GT(Ctime(P("n0")), c1) << "chmod did not change ctime";
    EXPECT_EQ(Remove(t, P("n0")), 0);
  }
}

// ---------------------------------------------------------------------------
// Ownership: who may chown to what, set-id bits cleared by chown, ctime.

TEST_F(PjdfstestTest, ChownRules) {
  for (Type t : kTypes) {
    SCOPED_TRACE(Name(t));
    ASSERT_EQ(Make(t, P("n0")), 0);
    // Root may do anything; lchown changes a symlink itself.
    EXPECT_EQ(E(::lchown(P("n0").c_str(), 123, 456)), 0);
    EXPECT_EQ(Lstat(P("n0")).st_uid, 123u);
    EXPECT_EQ(Lstat(P("n0")).st_gid, 456u);
    // The owner may give the file to a group of his; not to another user or
    // to a group he is not in.
    ASSERT_EQ(::lchown(P("n0").c_str(), kUser, kOther), 0);
    const std::string n0 = P("n0");
    EXPECT_EQ(As(kUser, kUser, {65532, 65531}, [&] { return E(::lchown(n0.c_str(), -1, 65532)); }),
              0);
    EXPECT_EQ(Lstat(n0).st_gid, 65532u);
    EXPECT_EQ(
        As(kUser, kUser, {65532, 65531}, [&] { return E(::lchown(n0.c_str(), kUser, 65531)); }), 0);
    EXPECT_EQ(Lstat(n0).st_gid, 65531u);
    EXPECT_EQ(As(kUser, kUser, {}, [&] { return E(::lchown(n0.c_str(), kOther, -1)); }), EPERM);
    EXPECT_EQ(As(kUser, kUser, {}, [&] { return E(::lchown(n0.c_str(), -1, 12345)); }), EPERM);
    // A non-owner: EPERM, except for the no-op (-1, -1), and ctime stays.
    ASSERT_EQ(::lchown(n0.c_str(), 0, 0), 0);
    const int64_t c1 = Ctime(n0);
    Tick();
    EXPECT_EQ(As(kUser, [&] { return E(::lchown(n0.c_str(), kUser, -1)); }), EPERM);
    EXPECT_EQ(As(kUser, [&] { return E(::lchown(n0.c_str(), -1, kUser)); }), EPERM);
    EXPECT_EQ(As(kUser, [&] { return E(::lchown(n0.c_str(), kUser, kUser)); }), EPERM);
    EXPECT_EQ(As(kUser, [&] { return E(::lchown(n0.c_str(), -1, -1)); }), 0);
    EXPECT_EQ(Ctime(n0), c1) << "a failed chown changed ctime";
    EXPECT_EQ(Lstat(n0).st_uid, 0u);
    Tick();
    EXPECT_EQ(E(::lchown(n0.c_str(), kUser, kOther)), 0);
    EXPECT_GT(Ctime(n0), c1) << "chown did not change ctime";
    EXPECT_EQ(Remove(t, n0), 0);
  }
  // chown follows symlinks.
  ASSERT_TRUE(Touch(P("f")));
  ASSERT_EQ(::symlink("f", P("l").c_str()), 0);
  ASSERT_EQ(::chown(P("l").c_str(), 77, 88), 0);
  EXPECT_EQ(Lstat(P("f")).st_uid, 77u);
  EXPECT_EQ(Lstat(P("l")).st_uid, 0u);

  // chown of a regular file by its non-root owner clears set-uid and set-gid;
  // by root the bits may go (Linux clears them too).
  const std::string f = P("f");
  ASSERT_EQ(::chown(f.c_str(), kUser, kOther), 0);
  ASSERT_EQ(::chmod(f.c_str(), 06555), 0);
  EXPECT_EQ(As(kUser, kOther, {65532}, [&] { return E(::chown(f.c_str(), kUser, 65532)); }), 0);
  EXPECT_EQ(Mode(f), 0555u) << "chown by the owner must clear set-uid/set-gid";
  EXPECT_EQ(Lstat(f).st_gid, 65532u);
  ASSERT_EQ(::chmod(f.c_str(), 06555), 0);
  EXPECT_EQ(E(::chown(f.c_str(), 65532, 65531)), 0);
  const uint32_t mode = Mode(f);
  EXPECT_TRUE(mode == 06555u || mode == 0555u) << std::oct << mode;
}

// ---------------------------------------------------------------------------
// Set-id bits: a write or truncate by a non-owner clears them; files
// created in a set-gid directory take its group, subdirectories its bit.

TEST_F(PjdfstestTest, SetIdBits) {
  for (mode_t bits : {04777, 02777, 06777}) {
    SCOPED_TRACE(bits);
    ASSERT_TRUE(Touch(P("f"), 0644));
    ASSERT_EQ(::chmod(P("f").c_str(), bits), 0);
    const std::string f = P("f");
    EXPECT_EQ(As(kUser,
                 [&] {
                   int fd = ::open(f.c_str(), O_WRONLY);
                   if (fd < 0) return errno;
                   int e = E(::write(fd, "x", 1));
                   struct stat st;
                   if (e == 0 && ::fstat(fd, &st) == 0 && (st.st_mode & 07777) != 0777) e = 200;
                   ::close(fd);
                   return e;
                 }),
              0)
        << "write by a non-owner (200: the descriptor still shows set-id bits)";
    EXPECT_EQ(Mode(f), 0777u) << "write by a non-owner must clear set-id bits";
    EXPECT_EQ(E(::unlink(f.c_str())), 0);
  }
  // So does a truncate, by the owner too (Linux: anyone without
  // CAP_FSETID); root's write keeps them.
  ASSERT_TRUE(Touch(P("own"), 0644));
  ASSERT_EQ(::chown(P("own").c_str(), kUser, kUser), 0);
  ASSERT_EQ(::chmod(P("own").c_str(), 04755), 0);
  const std::string own = P("own");
  EXPECT_EQ(As(kUser, [&] { return E(::truncate(own.c_str(), 10)); }), 0);
  EXPECT_EQ(Lstat(own).st_size, 10);
  EXPECT_EQ(Mode(own), 0755u);
  ASSERT_EQ(::chmod(own.c_str(), 06777), 0);
  EXPECT_EQ(As(kOther, [&] { return E(::truncate(own.c_str(), 5)); }), 0);
  EXPECT_EQ(Mode(own), 0777u) << "truncate by a non-owner must clear set-id bits";
  ASSERT_EQ(::chmod(own.c_str(), 06777), 0);
  EXPECT_EQ(As(kOther, [&] { return E(::close(::open(own.c_str(), O_WRONLY | O_TRUNC))); }), 0);
  EXPECT_EQ(Mode(own), 0777u) << "open(O_TRUNC) by a non-owner must clear set-id bits";
  ASSERT_EQ(::chmod(own.c_str(), 06767), 0);
  EXPECT_EQ(As(kOther, [&] { return E(::close(::open(own.c_str(), O_WRONLY | O_TRUNC))); }), 0);
  EXPECT_EQ(Mode(own), 02767u) << "set-gid without group exec stays (not a set-gid program)";
  ASSERT_EQ(::chmod(own.c_str(), 06777), 0);
  ASSERT_TRUE(WriteFile(own, "root"));
  EXPECT_EQ(Mode(own), 06777u) << "root's write keeps set-id bits";

  // A set-gid directory passes on its group (and, to directories, the bit).
  ASSERT_EQ(::mkdir(P("sg").c_str(), 0777), 0);
  ASSERT_EQ(::chown(P("sg").c_str(), 0, 4242), 0);
  ASSERT_EQ(::chmod(P("sg").c_str(), 02777), 0);
  EXPECT_EQ(As(kUser, [&] { return Touch(P("sg/f")) ? 0 : errno; }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::mkdir(P("sg/d").c_str(), 0755)); }), 0);
  EXPECT_EQ(Lstat(P("sg/f")).st_gid, 4242u);
  EXPECT_EQ(Lstat(P("sg/f")).st_uid, kUser);
  EXPECT_EQ(Lstat(P("sg/d")).st_gid, 4242u);
  EXPECT_EQ(Mode(P("sg/d")), 02755u);
  // Elsewhere the creator's ids.
  EXPECT_EQ(As(kUser, kOther, {}, [&] { return Touch(P("plain")) ? 0 : errno; }), 0);
  EXPECT_EQ(Lstat(P("plain")).st_uid, kUser);
  EXPECT_EQ(Lstat(P("plain")).st_gid, kOther);
}

// ---------------------------------------------------------------------------
// Permission checks for unprivileged users: read/write/search bits, write
// permission on parents, sticky directories, device nodes.

TEST_F(PjdfstestTest, UnprivilegedAccess) {
  // Read and write bits on open, truncate.
  ASSERT_TRUE(Touch(P("f"), 0644));
  const std::string f = P("f");
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_RDONLY)); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_WRONLY)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_RDWR)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_RDONLY | O_TRUNC)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::truncate(f.c_str(), 0)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_CREAT | O_WRONLY, 0644)); }), EACCES);
  ASSERT_EQ(::chmod(f.c_str(), 0600), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_RDONLY)); }), EACCES);
  // Group bits for a member, other bits for the rest.
  ASSERT_EQ(::chown(f.c_str(), 0, 4242), 0);
  ASSERT_EQ(::chmod(f.c_str(), 0060), 0);
  EXPECT_EQ(As(kUser, kUser, {4242}, [&] { return E(::open(f.c_str(), O_RDWR)); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_RDONLY)); }), EACCES);
  // The owner's bits apply to the owner even when others have more.
  ASSERT_EQ(::chown(f.c_str(), kUser, kUser), 0);
  ASSERT_EQ(::chmod(f.c_str(), 0077), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::open(f.c_str(), O_RDONLY)); }), EACCES);
  // Exec permission.
  ASSERT_EQ(::chmod(f.c_str(), 0644), 0);
  EXPECT_EQ(E(::access(f.c_str(), X_OK)), EACCES) << "root needs an x bit to execute";
  EXPECT_EQ(As(kUser, [&] { return E(::access(f.c_str(), W_OK)); }), 0);

  // Write permission on the parent for every name change.
  ASSERT_EQ(::mkdir(P("ro").c_str(), 0755), 0);
  ASSERT_TRUE(Touch(P("ro/f"), 0666));
  ASSERT_EQ(::mkdir(P("ro/d").c_str(), 0777), 0);
  ASSERT_TRUE(Touch(P("mine"), 0644));
  ASSERT_EQ(::chown(P("mine").c_str(), kUser, kUser), 0);
  const std::string ro = P("ro");
  EXPECT_EQ(As(kUser, [&] { return E(::open((ro + "/n").c_str(), O_CREAT | O_WRONLY, 0644)); }),
            EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::mkdir((ro + "/n").c_str(), 0755)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::mkfifo((ro + "/n").c_str(), 0644)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::symlink("t", (ro + "/n").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::link(P("mine").c_str(), (ro + "/n").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::unlink((ro + "/f").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::rmdir((ro + "/d").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::rename((ro + "/f").c_str(), P("x").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::rename(P("mine").c_str(), (ro + "/x").c_str())); }), EACCES);
  // A directory moved to another parent needs write permission on itself
  // (its ".." changes).
  ASSERT_EQ(::mkdir(P("rd").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("to").c_str(), 0777), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::rename(P("rd").c_str(), P("to/rd").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::rename(P("rd").c_str(), P("rd2").c_str())); }), 0);

  // Search permission on the prefix: a directory without x for the caller.
  ASSERT_EQ(::mkdir(P("ns").c_str(), 0755), 0);
  ASSERT_TRUE(Touch(P("ns/f"), 0666));
  ASSERT_EQ(::chmod(P("ns/f").c_str(), 0666), 0);
  ASSERT_EQ(::mkdir(P("ns/d").c_str(), 0777), 0);
  ASSERT_EQ(::chmod(P("ns/d").c_str(), 0777), 0);
  ASSERT_EQ(::chmod(P("ns").c_str(), 0644), 0);
  // Names not looked up since the change (uncached): refused.
  const std::string ns = P("ns");
  EXPECT_EQ(As(kUser, [&] { return E(::open((ns + "/new").c_str(), O_CREAT | O_WRONLY, 0644)); }),
            EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::mkdir((ns + "/new").c_str(), 0755)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::open((ns + "/f").c_str(), O_RDONLY)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod((ns + "/f").c_str(), 0600)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::unlink((ns + "/d/x").c_str())); }), EACCES);
  struct stat st;
  EXPECT_EQ(As(kUser, [&] { return E(::stat((ns + "/f").c_str(), &st)); }), EACCES);
  // Names looked up by someone else (root) after the change: still refused.
  EXPECT_EQ(Lstat(ns + "/f").st_mode & 07777, 0666u);
  EXPECT_EQ(Lstat(ns + "/d").st_mode & 07777, 0777u);
  EXPECT_EQ(As(kUser, [&] { return E(::open((ns + "/f").c_str(), O_RDONLY)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::stat((ns + "/f").c_str(), &st)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::mkdir((ns + "/d/x").c_str(), 0755)); }), EACCES);
  // Names cached *before* the search bit went away (the pjdfstest order:
  // create, then chmod the parent): refused too.
  ASSERT_EQ(::chmod(ns.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("ns2").c_str(), 0755), 0);
  ASSERT_EQ(::chown(P("ns2").c_str(), kUser, kUser), 0);
  const std::string ns2 = P("ns2");
  EXPECT_EQ(As(kUser, [&] { return Touch(ns2 + "/f", 0644) ? 0 : errno; }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod(ns2.c_str(), 0644)); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod((ns2 + "/f").c_str(), 0600)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::open((ns2 + "/f").c_str(), O_RDONLY)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::unlink((ns2 + "/f").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::truncate((ns2 + "/f").c_str(), 0)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, (ns2 + "/f").c_str(), nullptr, 0)); }),
            EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::rename((ns2 + "/f").c_str(), P("g").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::link((ns2 + "/f").c_str(), P("g").c_str())); }), EACCES);
  // And allowed again once the bit is back.
  EXPECT_EQ(As(kUser, [&] { return E(::chmod(ns2.c_str(), 0755)); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod((ns2 + "/f").c_str(), 0600)); }), 0);
  // Root passes any search check.
  ASSERT_EQ(::chmod(ns2.c_str(), 0), 0);
  EXPECT_EQ(E(::chmod((ns2 + "/f").c_str(), 0644)), 0);
  // A process working below a directory that gets restricted keeps its
  // working directory (the names are expired, not dropped).
  ASSERT_EQ(::mkdir(P("ns3").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("ns3/sub").c_str(), 0755), 0);
  int cwd = ::open(".", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(cwd, 0);
  ASSERT_EQ(::chdir(P("ns3/sub").c_str()), 0);
  ASSERT_EQ(::chmod(P("ns3").c_str(), 0700), 0);
  char wd[PATH_MAX];
  const bool got = ::getcwd(wd, sizeof(wd)) != nullptr;
  ASSERT_EQ(::fchdir(cwd), 0);
  ::close(cwd);
  ASSERT_TRUE(got) << std::strerror(errno);
  EXPECT_EQ(std::string(wd), P("ns3/sub"));

  // Device nodes need CAP_MKNOD.
  EXPECT_EQ(As(kUser, [&] { return E(::mknod(P("dev").c_str(), S_IFCHR | 0644, makedev(1, 3))); }),
            EPERM);
  EXPECT_EQ(As(kUser, [&] { return E(::mknod(P("fifo").c_str(), S_IFIFO | 0644, 0)); }), 0);
}

TEST_F(PjdfstestTest, StickyDirectories) {
  // w_ is 0777 root; make it sticky. Files of kUser and kOther in it.
  ASSERT_EQ(::chmod(w_.c_str(), 01777), 0);
  auto make = [&](const std::string& name, uid_t owner, bool dir) {
    if (dir) {
      ASSERT_EQ(::mkdir(P(name).c_str(), 0755), 0);
    } else {
      ASSERT_TRUE(Touch(P(name), 0666));
    }
    ASSERT_EQ(::chown(P(name).c_str(), owner, owner), 0);
  };
  make("a", kOther, false);
  make("b", kOther, true);
  make("c", kUser, false);
  make("d", kUser, true);
  // Not the owner of the name or the directory: EPERM.
  EXPECT_EQ(As(kUser, [&] { return E(::unlink(P("a").c_str())); }), EPERM);
  EXPECT_EQ(As(kUser, [&] { return E(::rmdir(P("b").c_str())); }), EPERM);
  EXPECT_EQ(As(kUser, [&] { return E(::rename(P("a").c_str(), P("z").c_str())); }), EPERM);
  EXPECT_EQ(As(kUser, [&] { return E(::rename(P("c").c_str(), P("a").c_str())); }), EPERM)
      << "replacing someone else's file";
  EXPECT_TRUE(Exists(P("a")));
  EXPECT_TRUE(Exists(P("b")));
  // The owner of the name may.
  EXPECT_EQ(As(kUser, [&] { return E(::rename(P("c").c_str(), P("c2").c_str())); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::unlink(P("c2").c_str())); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::rmdir(P("d").c_str())); }), 0);
  // The owner of the directory may.
  ASSERT_EQ(::chown(w_.c_str(), kUser, kUser), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::unlink(P("a").c_str())); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::rmdir(P("b").c_str())); }), 0);
  // A non-owner may not set the sticky bit... of someone else's directory
  // (chmod is the owner's), but the owner may.
  ASSERT_EQ(::mkdir(P("s").c_str(), 0755), 0);
  EXPECT_EQ(As(kOther, [&] { return E(::chmod(P("s").c_str(), 01755)); }), EPERM);
  ASSERT_EQ(::chown(P("s").c_str(), kOther, kOther), 0);
  EXPECT_EQ(As(kOther, [&] { return E(::chmod(P("s").c_str(), 01755)); }), 0);
  EXPECT_EQ(Mode(P("s")), 01755u);
}

// ---------------------------------------------------------------------------
// utimensat: explicit times with nanoseconds, UTIME_NOW, UTIME_OMIT, who may
// set what, far-future and pre-epoch times.

TEST_F(PjdfstestTest, Utimensat) {
  ASSERT_TRUE(Touch(P("f"), 0644));
  const std::string f = P("f");
  struct timespec ts[2] = {{1900000000, 123456789}, {1950000000, 987654321}};
  ASSERT_EQ(E(::utimensat(AT_FDCWD, f.c_str(), ts, 0)), 0);
  struct stat st = Lstat(f);
  EXPECT_EQ(Ns(st.st_atim), 1900000000LL * 1'000'000'000 + 123456789);
  EXPECT_EQ(Ns(st.st_mtim), 1950000000LL * 1'000'000'000 + 987654321);
  // UTIME_OMIT leaves a time alone; UTIME_NOW takes the clock.
  struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  const int64_t before = Ctime(f);
  Tick();
  ASSERT_EQ(E(::utimensat(AT_FDCWD, f.c_str(), omit_now, 0)), 0);
  st = Lstat(f);
  EXPECT_EQ(Ns(st.st_atim), 1900000000LL * 1'000'000'000 + 123456789) << "UTIME_OMIT changed atime";
  EXPECT_GT(Ns(st.st_mtim), before);
  EXPECT_GT(Ns(st.st_ctim), before) << "utimensat must change ctime";
  struct timespec omit_both[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  const int64_t m1 = Mtime(f);
  ASSERT_EQ(E(::utimensat(AT_FDCWD, f.c_str(), omit_both, 0)), 0);
  EXPECT_EQ(Mtime(f), m1);
  // Times past 2038 and before 1970.
  struct timespec far[2] = {{4294967296LL + 5, 1}, {-1000000, 0}};
  ASSERT_EQ(E(::utimensat(AT_FDCWD, f.c_str(), far, 0)), 0);
  st = Lstat(f);
  EXPECT_EQ(st.st_atim.tv_sec, 4294967296LL + 5);
  EXPECT_EQ(st.st_atim.tv_nsec, 1);
  EXPECT_EQ(st.st_mtim.tv_sec, -1000000);
  // Invalid nanoseconds.
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  EXPECT_EQ(E(::utimensat(AT_FDCWD, f.c_str(), bad, 0)), EINVAL);
  // A symlink's own times with AT_SYMLINK_NOFOLLOW.
  ASSERT_EQ(::symlink("f", P("l").c_str()), 0);
  struct timespec lt[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(E(::utimensat(AT_FDCWD, P("l").c_str(), lt, AT_SYMLINK_NOFOLLOW)), 0);
  EXPECT_EQ(Lstat(P("l")).st_mtim.tv_sec, 2000);
  EXPECT_NE(Lstat(f).st_mtim.tv_sec, 2000);

  // Who may: the owner anything; others with write permission only "now";
  // others without write permission nothing.
  ASSERT_EQ(::chown(f.c_str(), kOther, kOther), 0);
  ASSERT_EQ(::chmod(f.c_str(), 0644), 0);
  struct timespec both_now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  const int64_t c1 = Ctime(f);
  Tick();
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), ts, 0)); }), EPERM);
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), nullptr, 0)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), both_now, 0)); }), EACCES);
  EXPECT_EQ(Ctime(f), c1) << "a failed utimensat changed ctime";
  ASSERT_EQ(::chmod(f.c_str(), 0666), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), nullptr, 0)); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), both_now, 0)); }), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), ts, 0)); }), EPERM)
      << "explicit times need ownership even with write permission";
  struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  EXPECT_EQ(As(kUser, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), now_omit, 0)); }), EPERM)
      << "Linux asks for ownership unless both times are UTIME_NOW";
  EXPECT_EQ(As(kOther, [&] { return E(::utimensat(AT_FDCWD, f.c_str(), ts, 0)); }), 0);
}

// ---------------------------------------------------------------------------
// Times: which calls change ctime/mtime of the object and of its parent.

TEST_F(PjdfstestTest, TimesOfEachCall) {
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  const std::string d = P("d");
  struct Times {
    int64_t m, c;
  };
  auto times = [](const std::string& p) {
    struct stat st = Lstat(p);
    return Times{Ns(st.st_mtim), Ns(st.st_ctim)};
  };
  // Each creating call changes the parent's mtime and ctime; the new
  // object's times are all equal.
  const std::vector<std::pair<const char*, std::function<int()>>> creates = {
      {"open O_CREAT", [&] { return Touch(d + "/f") ? 0 : errno; }},
      {"mkdir", [&] { return E(::mkdir((d + "/dd").c_str(), 0755)); }},
      {"mkfifo", [&] { return E(::mkfifo((d + "/p").c_str(), 0644)); }},
      {"mknod", [&] { return E(::mknod((d + "/s").c_str(), S_IFSOCK | 0644, 0)); }},
      {"symlink", [&] { return E(::symlink("t", (d + "/l").c_str())); }},
      {"link", [&] { return E(::link((d + "/f").c_str(), (d + "/h").c_str())); }},
  };
  for (const auto& [what, call] : creates) {
    SCOPED_TRACE(what);
    ExpectTimesMove(d, call);
  }
  struct stat st = Lstat(d + "/p");
  EXPECT_EQ(Ns(st.st_mtim), Ns(st.st_ctim));
  EXPECT_EQ(Ns(st.st_atim), Ns(st.st_ctim));
  // link changes the file's ctime; so does unlink of one of its names.
  {
    Tick();
    Times f0 = times(d + "/f");
    ASSERT_EQ(::link((d + "/f").c_str(), (d + "/h2").c_str()), 0);
    EXPECT_GT(times(d + "/f").c, f0.c) << "link: file ctime";
    EXPECT_EQ(times(d + "/f").m, f0.m) << "link: file mtime";
    Tick();
    f0 = times(d + "/f");
    ASSERT_EQ(::unlink((d + "/h2").c_str()), 0);
    EXPECT_GT(times(d + "/f").c, f0.c) << "unlink: file ctime";
  }
  // Removing calls change the parent's times.
  const std::vector<std::pair<const char*, std::function<int()>>> removes = {
      {"unlink", [&] { return E(::unlink((d + "/h").c_str())); }},
      {"rmdir", [&] { return E(::rmdir((d + "/dd").c_str())); }},
  };
  for (const auto& [what, call] : removes) {
    SCOPED_TRACE(what);
    ExpectTimesMove(d, call);
  }
  // rename: both parents' times and the object's ctime change; its mtime
  // does not.
  ASSERT_EQ(::mkdir(P("d2").c_str(), 0755), 0);
  for (const char* name : {"f", "p", "l", "s"}) {
    SCOPED_TRACE(name);
    Times p1 = times(d), p2 = times(P("d2")), o = times(d + "/" + name);
    Tick();
    ASSERT_EQ(::rename((d + "/" + name).c_str(), (P("d2/") + name).c_str()), 0);
    EXPECT_GT(times(d).m, p1.m);
    EXPECT_GT(times(d).c, p1.c);
    EXPECT_GT(times(P("d2")).m, p2.m);
    EXPECT_GT(times(P("d2")).c, p2.c);
    Times o2 = times(P("d2/") + name);
    EXPECT_GT(o2.c, o.c) << "rename must change the object's ctime";
    EXPECT_EQ(o2.m, o.m) << "rename must not change the object's mtime";
  }
  // write, truncate, ftruncate, open(O_TRUNC) change mtime and ctime, even
  // of an empty file; a failed one changes nothing.
  const std::string f = P("d2/f");
  const std::vector<std::pair<const char*, std::function<int()>>> writes = {
      {"write",
       [&] {
         int fd = ::open(f.c_str(), O_WRONLY);
         int e = E(::write(fd, "abc", 3));
         ::close(fd);
         return e;
       }},
      {"truncate", [&] { return E(::truncate(f.c_str(), 100)); }},
      {"ftruncate",
       [&] {
         int fd = ::open(f.c_str(), O_WRONLY);
         int e = E(::ftruncate(fd, 2));
         ::close(fd);
         return e;
       }},
      {"open O_TRUNC", [&] { return E(::close(::open(f.c_str(), O_WRONLY | O_TRUNC))); }},
      {"open O_TRUNC of an empty file",
       [&] { return E(::close(::open(f.c_str(), O_WRONLY | O_TRUNC))); }},
      {"posix_fallocate",
       [&] {
         int fd = ::open(f.c_str(), O_RDWR);
         int e = ::posix_fallocate(fd, 0, 8192);
         ::close(fd);
         return e;
       }},
  };
  for (const auto& [what, call] : writes) {
    SCOPED_TRACE(what);
    ExpectTimesMove(f, call);
  }
  EXPECT_EQ(Lstat(f).st_size, 8192) << "posix_fallocate extends the file";
  // Failed calls leave the times.
  ASSERT_EQ(::chmod(f.c_str(), 0644), 0);
  Times t0 = times(f), p0 = times(P("d2"));
  Tick();
  EXPECT_EQ(As(kUser, [&] { return E(::truncate(f.c_str(), 0)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::unlink(f.c_str())); }), EACCES);
  EXPECT_EQ(E(::mkdir((P("d2/") + "f").c_str(), 0755)), EEXIST);
  EXPECT_EQ(E(::rmdir(P("d2").c_str())), ENOTEMPTY);
  EXPECT_EQ(times(f).m, t0.m);
  EXPECT_EQ(times(f).c, t0.c);
  EXPECT_EQ(times(P("d2")).m, p0.m);
  EXPECT_EQ(times(P("d2")).c, p0.c);
}

// ---------------------------------------------------------------------------
// Link counts and rename of links.

TEST_F(PjdfstestTest, LinkCounts) {
  ASSERT_TRUE(Touch(P("f")));
  EXPECT_EQ(Lstat(P("f")).st_nlink, 1u);
  ASSERT_EQ(::link(P("f").c_str(), P("g").c_str()), 0);
  ASSERT_EQ(::link(P("g").c_str(), P("h").c_str()), 0);
  EXPECT_EQ(Lstat(P("f")).st_nlink, 3u);
  EXPECT_EQ(Lstat(P("h")).st_nlink, 3u);
  EXPECT_EQ(Lstat(P("f")).st_ino, Lstat(P("h")).st_ino);
  // A write through one name is seen through the others; so is a chmod.
  ASSERT_TRUE(WriteFile(P("g"), "shared"));
  EXPECT_EQ(ReadFile(P("f")), "shared");
  ASSERT_EQ(::chmod(P("h").c_str(), 0600), 0);
  EXPECT_EQ(Mode(P("f")), 0600u);
  ASSERT_EQ(::unlink(P("f").c_str()), 0);
  EXPECT_EQ(Lstat(P("g")).st_nlink, 2u);
  // rename of one link onto another of the same file does nothing.
  ASSERT_EQ(::rename(P("g").c_str(), P("h").c_str()), 0);
  EXPECT_TRUE(Exists(P("g")));
  EXPECT_TRUE(Exists(P("h")));
  EXPECT_EQ(Lstat(P("h")).st_nlink, 2u);
  // rename over another file drops the replaced file's link.
  ASSERT_TRUE(Touch(P("other")));
  ASSERT_EQ(::link(P("other").c_str(), P("other2").c_str()), 0);
  ASSERT_EQ(::rename(P("g").c_str(), P("other").c_str()), 0);
  EXPECT_EQ(Lstat(P("other2")).st_nlink, 1u);
  EXPECT_EQ(Lstat(P("h")).st_nlink, 2u);
  // An open, unlinked file stays readable and shows nlink 0.
  int fd = ::open(P("h").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(P("h").c_str()), 0);
  ASSERT_EQ(::unlink(P("other").c_str()), 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  char buf[16];
  EXPECT_EQ(::pread(fd, buf, sizeof(buf), 0), 6);
  ::close(fd);
  // Links to other types.
  for (Type t : {Type::kFifo, Type::kSocket, Type::kChar, Type::kSymlink}) {
    SCOPED_TRACE(Name(t));
    ASSERT_EQ(Make(t, P("n0")), 0);
    ASSERT_EQ(::link(P("n0").c_str(), P("n1").c_str()), 0);
    EXPECT_EQ(Lstat(P("n1")).st_nlink, 2u);
    ASSERT_EQ(::unlink(P("n0").c_str()), 0);
    EXPECT_EQ(Lstat(P("n1")).st_nlink, 1u);
    ASSERT_EQ(::unlink(P("n1").c_str()), 0);
  }
  // Directories report one link, before and after any change (docs/mount.md
  // "Link counts": the same rule as after a commit or remount).
  ASSERT_EQ(::mkdir(P("a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("b").c_str(), 0755), 0);
  EXPECT_EQ(Lstat(P("a")).st_nlink, 1u);
  ASSERT_EQ(::mkdir(P("a/x").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("a/y").c_str(), 0755), 0);
  EXPECT_EQ(Lstat(P("a")).st_nlink, 1u);
  ASSERT_EQ(::rename(P("a/y").c_str(), P("b/y").c_str()), 0);
  EXPECT_EQ(Lstat(P("a")).st_nlink, 1u);
  EXPECT_EQ(Lstat(P("b")).st_nlink, 1u);
  ASSERT_EQ(::rmdir(P("a/x").c_str()), 0);
  // Replacing an empty directory by rename.
  ASSERT_EQ(::mkdir(P("a/empty").c_str(), 0755), 0);
  ASSERT_EQ(::rename(P("b/y").c_str(), P("a/empty").c_str()), 0);
  EXPECT_TRUE(Exists(P("a/empty")));
  EXPECT_FALSE(Exists(P("b/y")));
  EXPECT_EQ(Lstat(P("a/empty")).st_nlink, 1u);
  // Committed and attached again: still one.
  ASSERT_EQ(::setxattr(m_.c_str(), fs::kXattrCommit, "1", 1, 0), 0);
  ASSERT_EQ(::setxattr(m_.c_str(), fs::kXattrReload, "1", 1, 0), 0);
  EXPECT_EQ(Lstat(P("a")).st_nlink, 1u);
}

// ---------------------------------------------------------------------------
// Special files: mkfifo/mknod types, device numbers, fifos that work.

TEST_F(PjdfstestTest, SpecialFiles) {
  ASSERT_EQ(::mknod(P("c").c_str(), S_IFCHR | 0640, ::makedev(13, 77)), 0);
  ASSERT_EQ(::mknod(P("b").c_str(), S_IFBLK | 0640, ::makedev(7, 3)), 0);
  ASSERT_EQ(::mknod(P("r").c_str(), S_IFREG | 0640, 0), 0);
  ASSERT_EQ(::mknod(P("r0").c_str(), 0640, 0), 0) << "type 0 is a regular file";
  struct stat st = Lstat(P("c"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 13u);
  EXPECT_EQ(minor(st.st_rdev), 77u);
  st = Lstat(P("b"));
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 7u);
  EXPECT_TRUE(S_ISREG(Lstat(P("r")).st_mode));
  EXPECT_TRUE(S_ISREG(Lstat(P("r0")).st_mode));
  EXPECT_EQ(Mode(P("c")), 0640u);
  // A fifo in the mount carries data between processes (the kernel's pipe).
  ASSERT_EQ(::mkfifo(P("p").c_str(), 0666), 0);
  EXPECT_EQ(E(::open(P("p").c_str(), O_WRONLY | O_NONBLOCK)), ENXIO) << "a fifo with no reader";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(P("p").c_str(), O_WRONLY);
    ::_exit(fd >= 0 && ::write(fd, "ping", 4) == 4 ? 0 : 1);
  }
  int fd = ::open(P("p").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[8] = {};
  EXPECT_EQ(::read(fd, buf, sizeof(buf)), 4);
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(std::string(buf), "ping");
  // A unix socket can be bound in the mount (bind creates the node).
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  const std::string sp = P("sock");
  if (sp.size() < sizeof(addr.sun_path)) {
    std::memcpy(addr.sun_path, sp.c_str(), sp.size());
    EXPECT_EQ(E(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))), 0);
    EXPECT_TRUE(S_ISSOCK(Lstat(sp).st_mode));
  }
  ::close(s);
  // Special files survive a commit with their type, mode and device.
  ASSERT_TRUE(fs::CommitMount(m_).ok());
  const std::string other = MountAt("other");
  st = Lstat(other + "/w/c");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, ::makedev(13, 77));
  EXPECT_TRUE(S_ISFIFO(Lstat(other + "/w/p").st_mode));
}

// ---------------------------------------------------------------------------
// truncate/ftruncate/posix_fallocate content rules.

TEST_F(PjdfstestTest, TruncateAndFallocate) {
  const std::string f = P("f");
  ASSERT_TRUE(WriteFile(f, "0123456789"));
  ASSERT_EQ(::truncate(f.c_str(), 1234567), 0);
  EXPECT_EQ(Lstat(f).st_size, 1234567);
  auto content = ReadFile(f);
  ASSERT_TRUE(content.has_value());
  EXPECT_EQ(content->substr(0, 10), "0123456789");
  EXPECT_EQ(content->substr(10), std::string(1234567 - 10, '\0'));
  ASSERT_EQ(::truncate(f.c_str(), 567), 0);
  EXPECT_EQ(Lstat(f).st_size, 567);
  ASSERT_EQ(::truncate(f.c_str(), 0), 0);
  EXPECT_EQ(Lstat(f).st_size, 0);
  // ftruncate needs a writable descriptor, not write permission now.
  int fd = ::open(f.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::chmod(f.c_str(), 0444), 0);
  EXPECT_EQ(E(::ftruncate(fd, 42)), 0);
  EXPECT_EQ(Lstat(f).st_size, 42);
  EXPECT_EQ(E(::ftruncate(fd, -1)), EINVAL);
  // posix_fallocate extends and keeps content.
  EXPECT_EQ(::pwrite(fd, "abc", 3, 0), 3);
  EXPECT_EQ(::posix_fallocate(fd, 100, 1000), 0);
  EXPECT_EQ(Lstat(f).st_size, 1100);
  EXPECT_EQ(::posix_fallocate(fd, 0, 10), 0);
  EXPECT_EQ(Lstat(f).st_size, 1100) << "fallocate inside the file keeps its size";
  char buf[3];
  EXPECT_EQ(::pread(fd, buf, 3, 0), 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
  ::close(fd);
  // A non-owner with write permission may truncate; ctime/mtime move.
  ASSERT_EQ(::chmod(f.c_str(), 0666), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::truncate(f.c_str(), 7)); }), 0);
  EXPECT_EQ(Lstat(f).st_size, 7);
  // Committed content is truncated through copy-up.
  ASSERT_TRUE(WriteFile(f, "committed content"));
  ASSERT_TRUE(fs::CommitMount(m_).ok());
  ASSERT_TRUE(fs::ReloadMount(m_).ok());
  ASSERT_EQ(::truncate(f.c_str(), 9), 0);
  EXPECT_EQ(ReadFile(f), "committed");
  ASSERT_EQ(::truncate(f.c_str(), 12), 0);
  EXPECT_EQ(ReadFile(f), std::string("committed\0\0\0", 12));
}

// ---------------------------------------------------------------------------
// Rename: replacement rules for each type pair, directories with content,
// the rename being visible in one step.

TEST_F(PjdfstestTest, RenameReplacement) {
  for (Type from : kTypes) {
    for (Type to : kTypes) {
      SCOPED_TRACE(std::string(Name(from)) + " over " + Name(to));
      ASSERT_EQ(Make(from, P("src")), 0);
      ASSERT_EQ(Make(to, P("dst")), 0);
      const ino_t ino = Lstat(P("src")).st_ino;
      const bool src_dir = from == Type::kDir, dst_dir = to == Type::kDir;
      const int want = src_dir == dst_dir ? 0 : (src_dir ? ENOTDIR : EISDIR);
      EXPECT_EQ(E(::rename(P("src").c_str(), P("dst").c_str())), want);
      if (want == 0) {
        EXPECT_FALSE(Exists(P("src")));
        EXPECT_EQ(Lstat(P("dst")).st_ino, ino);
        EXPECT_EQ(Remove(from, P("dst")), 0);
      } else {
        EXPECT_EQ(Remove(from, P("src")), 0);
        EXPECT_EQ(Remove(to, P("dst")), 0);
      }
    }
  }
  // A directory with content keeps it; an open file keeps working.
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("d/f"), "content"));
  int fd = ::open(P("d/f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::rename(P("d").c_str(), P("e").c_str()), 0);
  EXPECT_EQ(::pwrite(fd, "C", 1, 0), 1);
  ::close(fd);
  EXPECT_EQ(ReadFile(P("e/f")), "Content");
  // The same after a commit (renames of committed names).
  ASSERT_TRUE(fs::CommitMount(m_).ok());
  ASSERT_TRUE(fs::ReloadMount(m_).ok());
  ASSERT_EQ(::mkdir(P("g").c_str(), 0755), 0);
  ASSERT_EQ(::rename(P("e").c_str(), P("g").c_str()), 0);
  EXPECT_EQ(ReadFile(P("g/f")), "Content");
  EXPECT_EQ(E(::rename(P("g").c_str(), P("g/f2").c_str())), EINVAL);
  ASSERT_EQ(::mkdir(P("h").c_str(), 0755), 0);
  EXPECT_EQ(E(::rename(P("h").c_str(), P("g").c_str())), ENOTEMPTY);
  ASSERT_TRUE(fs::CommitMount(m_).ok());
  EXPECT_EQ(HeadFile("/w/g/f"), "Content");
  EXPECT_FALSE(HeadFile("/w/e/f").has_value());
}

// ---------------------------------------------------------------------------
// ETXTBSY: a program running from the mount cannot be opened for writing or
// truncated; "..", fchmodat(AT_SYMLINK_NOFOLLOW) and other kernel-side rules
// hold on the mount.

TEST_F(PjdfstestTest, RunningProgramsAndKernelSideRules) {
  auto prog = ReadFile("/bin/sleep");
  ASSERT_TRUE(prog.has_value());
  const std::string exe = P("sleep");
  ASSERT_TRUE(WriteFile(exe, *prog));
  ASSERT_EQ(::chmod(exe.c_str(), 0755), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(exe.c_str(), "sleep", "5", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until the child runs the program from the mount.
  const std::string proc_exe = "/proc/" + std::to_string(pid) + "/exe";
  for (int i = 0; i < 250; ++i) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(proc_exe.c_str(), buf, sizeof(buf));
    if (n > 0 && std::string(buf, n) == exe) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(E(::open(exe.c_str(), O_WRONLY)), ETXTBSY);
  EXPECT_EQ(E(::truncate(exe.c_str(), 0)), ETXTBSY);
  EXPECT_EQ(E(::unlink(exe.c_str())), 0) << "a running program may be unlinked";
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the program did not run from the mount: " << status;
  // No exec without an x bit, for root too.
  ASSERT_TRUE(WriteFile(exe, *prog));
  ASSERT_EQ(::chmod(exe.c_str(), 0644), 0);
  EXPECT_EQ(As(0,
               [&] {
                 ::execl(exe.c_str(), "sleep", "0", static_cast<char*>(nullptr));
                 return errno;
               }),
            EACCES);

  // ".." of a moved directory is its new parent.
  ASSERT_EQ(::mkdir(P("a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("b").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(P("a/c").c_str(), 0755), 0);
  ASSERT_EQ(::rename(P("a/c").c_str(), P("b/c").c_str()), 0);
  EXPECT_EQ(Lstat(P("b/c/..")).st_ino, Lstat(P("b")).st_ino);
  // Symlinks have no mode of their own to change.
  ASSERT_EQ(::symlink("a", P("l").c_str()), 0);
  EXPECT_EQ(E(::fchmodat(AT_FDCWD, P("l").c_str(), 0600, AT_SYMLINK_NOFOLLOW)), EOPNOTSUPP);
  // open(O_CREAT) of an existing file needs no write permission on the
  // directory; O_CREAT|O_EXCL on a symlink (even a dangling one) is EEXIST.
  ASSERT_TRUE(Touch(P("b/f"), 0666));
  ASSERT_EQ(::chmod(P("b/f").c_str(), 0666), 0);
  const std::string bf = P("b/f");
  EXPECT_EQ(As(kUser, [&] { return E(::close(::open(bf.c_str(), O_CREAT | O_WRONLY, 0644))); }), 0);
  ASSERT_EQ(::symlink("nowhere", P("dangling").c_str()), 0);
  EXPECT_EQ(E(::open(P("dangling").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)), EEXIST);
  EXPECT_FALSE(Exists(P("nowhere")));
}

// ---------------------------------------------------------------------------
// The same rules on committed entries (served from the base snapshot, copied
// up on change), after a commit and reload.

TEST_F(PjdfstestTest, SameRulesOnCommittedEntries) {
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("d/f"), "committed"));
  ASSERT_TRUE(WriteFile(P("d/g"), "g"));
  ASSERT_EQ(::mkdir(P("d/sub").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("d/sub/x"), "x"));
  ASSERT_EQ(::mkdir(P("empty").c_str(), 0755), 0);
  ASSERT_EQ(::mkfifo(P("d/p").c_str(), 0644), 0);
  ASSERT_EQ(::symlink("f", P("d/l").c_str()), 0);
  ASSERT_EQ(::chown(P("d/g").c_str(), kUser, kUser), 0);
  ASSERT_TRUE(fs::CommitMount(m_).ok());
  ASSERT_TRUE(fs::ReloadMount(m_).ok());
  // A second mount shows only what was committed: everything is base there.
  const std::string o = MountAt("other") + "/w";
  auto Q = [&](const std::string& rel) { return o + "/" + rel; };

  // Errnos.
  EXPECT_EQ(E(::rmdir(Q("d").c_str())), ENOTEMPTY);
  EXPECT_EQ(E(::rename(Q("empty").c_str(), Q("d").c_str())), ENOTEMPTY);
  EXPECT_EQ(E(::rename(Q("d").c_str(), Q("d/sub/y").c_str())), EINVAL);
  EXPECT_EQ(E(::mkdir(Q("d/f").c_str(), 0755)), EEXIST);
  EXPECT_EQ(E(::unlink(Q("d/sub").c_str())), EISDIR);
  EXPECT_EQ(E(::rmdir(Q("d/f").c_str())), ENOTDIR);
  EXPECT_EQ(E(::open(Q("d/f/x").c_str(), O_RDONLY)), ENOTDIR);
  // Permissions come from the committed modes and owners.
  EXPECT_EQ(As(kUser, [&] { return E(::open(Q("d/f").c_str(), O_WRONLY)); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::unlink(Q("d/f").c_str())); }), EACCES);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod(Q("d/f").c_str(), 0777)); }), EPERM);
  EXPECT_EQ(As(kUser, [&] { return E(::chmod(Q("d/g").c_str(), 0600)); }), 0);
  EXPECT_EQ(Mode(Q("d/g")), 0600u);
  // chmod/chown/utimensat change ctime; content stays.
  int64_t c1 = Ctime(Q("d/f"));
  Tick();
  ASSERT_EQ(::chmod(Q("d/f").c_str(), 0600), 0);
  EXPECT_GT(Ctime(Q("d/f")), c1);
  EXPECT_EQ(Mode(Q("d/f")), 0600u);
  EXPECT_EQ(ReadFile(Q("d/f")), "committed");
  ASSERT_EQ(::chown(Q("d/f").c_str(), 11, 22), 0);
  EXPECT_EQ(Lstat(Q("d/f")).st_uid, 11u);
  struct timespec ts[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, Q("d/p").c_str(), ts, 0), 0);
  EXPECT_EQ(Ns(Lstat(Q("d/p")).st_mtim), 2000LL * 1'000'000'000 + 7);
  // rename: object ctime and both parents' times.
  const int64_t pm = Mtime(Q("d")), oc = Ctime(Q("d/l"));
  Tick();
  ASSERT_EQ(::rename(Q("d/l").c_str(), Q("empty/l").c_str()), 0);
  EXPECT_GT(Mtime(Q("d")), pm);
  EXPECT_GT(Ctime(Q("empty/l")), oc);
  char buf[8] = {};
  EXPECT_EQ(::readlink(Q("empty/l").c_str(), buf, sizeof(buf)), 1);
  // Hard link of a committed file: both names count two.
  ASSERT_EQ(::link(Q("d/f").c_str(), Q("d/f2").c_str()), 0);
  EXPECT_EQ(Lstat(Q("d/f")).st_nlink, 2u);
  EXPECT_EQ(Lstat(Q("d/f2")).st_nlink, 2u);
  EXPECT_EQ(Lstat(Q("d/f")).st_ino, Lstat(Q("d/f2")).st_ino);
  // A committed directory emptied here can be removed; O_TRUNC of committed
  // content; truncate through copy-up.
  ASSERT_EQ(::unlink(Q("d/sub/x").c_str()), 0);
  const int64_t dm = Mtime(Q("d"));
  Tick();
  ASSERT_EQ(::rmdir(Q("d/sub").c_str()), 0);
  EXPECT_GT(Mtime(Q("d")), dm);
  ASSERT_EQ(::truncate(Q("d/g").c_str(), 0), 0);
  EXPECT_EQ(ReadFile(Q("d/g")), "");
  // Search permission on a committed directory.
  ASSERT_EQ(::chmod(Q("d").c_str(), 0700), 0);
  EXPECT_EQ(As(kUser, [&] { return E(::open(Q("d/f").c_str(), O_RDONLY)); }), EACCES);
  struct stat st;
  EXPECT_EQ(As(kUser, [&] { return E(::stat(Q("d/p").c_str(), &st)); }), EACCES);
  // Committed, non-empty directories report st_nlink 1 (docs/mount.md): the
  // count of their subdirectories is not known without reading the tree.
  EXPECT_EQ(Lstat(Q("d")).st_nlink, 1u);
}

// ---------------------------------------------------------------------------
// EROFS: every changing call on a read-only mount.

TEST_F(PjdfstestTest, ReadOnlyMountIsErofs) {
  ASSERT_TRUE(Touch(P("f")));
  ASSERT_EQ(::mkdir(P("d").c_str(), 0755), 0);
  ASSERT_TRUE(fs::CommitMount(m_).ok());
  fs::MountOptions ro = Options();
  ro.read_only = true;
  const std::string r = MountAt("ro", ro) + "/w";
  const std::string f = r + "/f", d = r + "/d", n = r + "/new";
  EXPECT_EQ(E(::open(n.c_str(), O_CREAT | O_WRONLY, 0644)), EROFS);
  EXPECT_EQ(E(::open(f.c_str(), O_WRONLY)), EROFS);
  EXPECT_EQ(E(::open(f.c_str(), O_RDONLY | O_TRUNC)), EROFS);
  EXPECT_EQ(E(::mkdir(n.c_str(), 0755)), EROFS);
  EXPECT_EQ(E(::mkfifo(n.c_str(), 0644)), EROFS);
  EXPECT_EQ(E(::symlink("t", n.c_str())), EROFS);
  EXPECT_EQ(E(::link(f.c_str(), n.c_str())), EROFS);
  EXPECT_EQ(E(::rename(f.c_str(), n.c_str())), EROFS);
  EXPECT_EQ(E(::unlink(f.c_str())), EROFS);
  EXPECT_EQ(E(::rmdir(d.c_str())), EROFS);
  EXPECT_EQ(E(::chmod(f.c_str(), 0600)), EROFS);
  EXPECT_EQ(E(::chown(f.c_str(), 1, 1)), EROFS);
  EXPECT_EQ(E(::truncate(f.c_str(), 0)), EROFS);
  EXPECT_EQ(E(::utimensat(AT_FDCWD, f.c_str(), nullptr, 0)), EROFS);
  EXPECT_EQ(ReadFile(f), "");
}

}  // namespace
}  // namespace snapvol::e2e
