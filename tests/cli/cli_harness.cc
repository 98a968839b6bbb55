#include "cli_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

extern char** environ;

namespace snapvol::cli::testing {
namespace {

std::string Binary() {
  if (const char* b = std::getenv("SNAPVOL_BIN"); b != nullptr && b[0] != '\0') return b;
  return SNAPVOL_BIN;
}

int MakeWritable(const char* path, const struct stat* st, int type, struct FTW*) {
  // Tests make read-only directories; without root they block removal.
  if (type == FTW_D || type == FTW_DNR) ::chmod(path, (st->st_mode & 07777) | 0700);
  return 0;
}

int RemoveOne(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void RemoveTree(const std::string& dir) {
  ::nftw(dir.c_str(), MakeWritable, 64, FTW_PHYS);
  ::nftw(dir.c_str(), RemoveOne, 64, FTW_DEPTH | FTW_PHYS);
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string Describe(const RunResult& r) {
  return "exit code " + std::to_string(r.code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" +
         r.err;
}

void CliTest::SetUp() {
  char tmpl[] = "/tmp/snapvol-cli-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
  dir_ = tmpl;
  store_ = dir_ + "/store";
}

void CliTest::TearDown() {
  if (!dir_.empty()) RemoveTree(dir_);
}

std::vector<std::string> CliTest::Envp(const std::vector<std::string>& extra) const {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "SNAPVOL_", 8) != 0) env.emplace_back(*e);
  }
  env.push_back("SNAPVOL_STORE=" + store_);
  for (const auto& x : extra) env.push_back(x);
  return env;
}

RunResult CliTest::Run(const std::vector<std::string>& args, const std::string& input,
                       const std::vector<std::string>& extra_env) {
  RunResult r;
  std::vector<std::string> argv{Binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envv = Envp(extra_env);
  auto cargv = CStrings(argv);
  auto cenv = CStrings(envv);

  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return r;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    if (::chdir(dir_.c_str()) != 0) ::_exit(127);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  // Feed stdin from a helper thread-free loop: write what fits, read both
  // outputs, until everything is done.
  size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  } else {
    ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  ::signal(SIGPIPE, SIG_IGN);
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open || in_fd >= 0) {
    std::vector<pollfd> fds;
    if (out_open) fds.push_back({out[0], POLLIN, 0});
    if (err_open) fds.push_back({err[0], POLLIN, 0});
    if (in_fd >= 0) fds.push_back({in_fd, POLLOUT, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (const auto& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == in_fd) {
        ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN) written = input.size();
        if (written == input.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      ssize_t n = ::read(p.fd, buf, sizeof(buf));
      if (n > 0) {
        (p.fd == out[0] ? r.out : r.err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        (p.fd == out[0] ? out_open : err_open) = false;
      }
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  r.code = Wait(pid);
  return r;
}

std::string CliTest::Ok(const std::vector<std::string>& args) {
  RunResult r = Run(args);
  EXPECT_EQ(r.code, 0) << "snapvol " << ::testing::PrintToString(args) << "\n" << Describe(r);
  return r.out;
}

nlohmann::json CliTest::Json(const std::vector<std::string>& args) {
  std::vector<std::string> a{"--json"};
  a.insert(a.end(), args.begin(), args.end());
  RunResult r = Run(a);
  EXPECT_EQ(r.code, 0) << Describe(r);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out;
  return j;
}

pid_t CliTest::Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv{Binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envv = Envp(env);
  auto cargv = CStrings(argv);
  auto cenv = CStrings(envv);
  static int counter = 0;
  std::string log = dir_ + "/spawn-" + std::to_string(counter++) + ".log";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    if (fd < 0 || null < 0) ::_exit(127);
    ::dup2(null, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (::chdir(dir_.c_str()) != 0) ::_exit(127);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  spawn_logs_[pid] = log;
  return pid;
}

std::string CliTest::SpawnOutput(pid_t pid) const {
  auto it = spawn_logs_.find(pid);
  if (it == spawn_logs_.end()) return "(not spawned by this test)";
  std::ifstream in(it->second, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return "output of pid " + std::to_string(pid) + ": " + out.str();
}

int CliTest::Wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return DecodeStatus(status);
}

size_t CliTest::Versions(const std::string& vol) {
  nlohmann::json j = Json({"volume", "log", vol});
  return j.is_array() ? j.size() : 0;
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    ASSERT_GT(n, 0) << path << ": " << std::strerror(errno);
    off += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);
  ::close(fd);
}

std::string ReadFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ADD_FAILURE() << "cannot open " << path << ": " << std::strerror(errno);
    return out;
  }
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void MakeDirs(const std::string& path) {
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty()) ::mkdir(cur.c_str(), 0755);
    i = j + 1;
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&s[i], &x, std::min<size_t>(8, n - i));
  }
  return s;
}

void SetMtime(const std::string& path, int64_t sec, long nsec) {
  struct timespec ts[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(sec), nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0)
      << path << ": " << std::strerror(errno);
}

std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> out;
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    std::string full = rel.empty() ? dir : dir + "/" + rel;
    DIR* d = ::opendir(full.c_str());
    if (d == nullptr) return;
    while (struct dirent* de = ::readdir(d)) {
      std::string n = de->d_name;
      if (n == "." || n == "..") continue;
      std::string r = rel.empty() ? n : rel + "/" + n;
      out.push_back(r);
      struct stat st {};
      if (::lstat((dir + "/" + r).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) walk(r);
    }
    ::closedir(d);
  };
  walk("");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace snapvol::cli::testing
