// fs_ops: the file-system operations bench/mount_bench.sh times, done in
// one process so that the numbers measure the file system, not fork/exec of
// a shell command per file. Plain POSIX; runs the same on any mount.
//
//   fs_ops create DIR N SIZE     N × (open O_CREAT + write SIZE + close) in DIR
//   fs_ops tree DIR N            N files of 1-4 KiB in DIR/dNNN/ (1000 a dir),
//                                plus DIR/deep/a/b/c/d/e/f/g/leaf.txt
//                                (bench_tree.h; make_volume builds the same
//                                tree straight into a volume)
//   fs_ops walk DIR              lstat of every entry under DIR (readdir)
//   fs_ops read FILE             sequential read in 1 MiB requests
//   fs_ops firstbyte FILE        open + read of one byte
//   fs_ops write SRC DST [nosync] copy SRC to DST in 1 MiB writes, then fsync
//                                (unless nosync)
//
// Prints "<seconds> <count>" on stdout (count: files, entries or bytes).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_tree.h"

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fs_ops: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void WriteAll(int fd, const char* p, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      Die("write " + what);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void MakeFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("create " + path);
  WriteAll(fd, data.data(), data.size(), path);
  if (::close(fd) != 0) Die("close " + path);
}

void MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir " + path);
}

int Create(const std::string& dir, long n, long size) {
  std::string data(static_cast<size_t>(size), 'x');
  double t0 = Now();
  for (long i = 0; i < n; ++i) MakeFile(dir + "/f" + std::to_string(i), data);
  std::printf("%.6f %ld\n", Now() - t0, n);
  return 0;
}

int Tree(const std::string& dir, long n) {
  MakeDir(dir);
  snapvol::bench::TreeFileData files;
  double t0 = Now();
  for (long i = 0; i < n; ++i) {
    std::string sub = dir + "/" + snapvol::bench::TreeDirName(i);
    if (i % snapvol::bench::kTreeFilesPerDir == 0) MakeDir(sub);
    MakeFile(sub + "/" + snapvol::bench::TreeFileName(i), files.Next(i));
  }
  std::string deep = dir;
  for (const char* part : snapvol::bench::kTreeDeepDirs) {
    deep += std::string("/") + part;
    MakeDir(deep);
  }
  MakeFile(deep + "/" + snapvol::bench::kTreeLeafName, snapvol::bench::kTreeLeafData);
  std::printf("%.6f %ld\n", Now() - t0, n + 1);
  return 0;
}

long WalkDir(int dirfd, const std::string& path) {
  DIR* d = ::fdopendir(dirfd);
  if (d == nullptr) Die("opendir " + path);
  long count = 0;
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      Die("stat " + path + "/" + e->d_name);
    }
    ++count;
    if (S_ISDIR(st.st_mode)) subdirs.emplace_back(e->d_name);
  }
  for (const auto& s : subdirs) {
    int fd = ::openat(::dirfd(d), s.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) Die("open " + path + "/" + s);
    count += WalkDir(fd, path + "/" + s);
  }
  ::closedir(d);
  return count;
}

int Walk(const std::string& dir) {
  double t0 = Now();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) Die("open " + dir);
  long count = WalkDir(fd, dir);
  std::printf("%.6f %ld\n", Now() - t0, count);
  return 0;
}

// Reads all of `fd` in 1 MiB requests, handing each piece to `sink`
// (-1: discard); returns the byte count.
long Drain(int fd, const std::string& what, int sink, const std::string& sink_name) {
  std::vector<char> buf(1 << 20);
  long total = 0;
  for (;;) {
    ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) Die("read " + what);
    if (r == 0) return total;
    if (sink >= 0) WriteAll(sink, buf.data(), static_cast<size_t>(r), sink_name);
    total += r;
  }
}

int Read(const std::string& file) {
  double t0 = Now();
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + file);
  long total = Drain(fd, file, -1, "");
  ::close(fd);
  std::printf("%.6f %ld\n", Now() - t0, total);
  return 0;
}

int FirstByte(const std::string& file) {
  char c;
  double t0 = Now();
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + file);
  if (::read(fd, &c, 1) != 1) Die("read " + file);
  double t = Now() - t0;
  ::close(fd);
  std::printf("%.6f 1\n", t);
  return 0;
}

int Write(const std::string& src, const std::string& dst, bool sync) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) Die("open " + src);
  double t0 = Now();
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) Die("create " + dst);
  long total = Drain(in, src, out, dst);
  if (sync && ::fsync(out) != 0) Die("fsync " + dst);
  if (::close(out) != 0) Die("close " + dst);
  std::printf("%.6f %ld\n", Now() - t0, total);
  ::close(in);
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: fs_ops create DIR N SIZE | tree DIR N | walk DIR | read FILE |\n"
               "              firstbyte FILE | write SRC DST [nosync]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  std::string cmd = argv[1];
  if (cmd == "create" && argc == 5) return Create(argv[2], std::atol(argv[3]), std::atol(argv[4]));
  if (cmd == "tree" && argc == 4) return Tree(argv[2], std::atol(argv[3]));
  if (cmd == "walk" && argc == 3) return Walk(argv[2]);
  if (cmd == "read" && argc == 3) return Read(argv[2]);
  if (cmd == "firstbyte" && argc == 3) return FirstByte(argv[2]);
  if (cmd == "write" && argc == 4) return Write(argv[2], argv[3], true);
  if (cmd == "write" && argc == 5 && std::string(argv[4]) == "nosync") {
    return Write(argv[2], argv[3], false);
  }
  return Usage();
}
