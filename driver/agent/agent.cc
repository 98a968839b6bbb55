#include "driver/agent/agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "driver/core/names.h"
#include "driver/fs/mount.h"
#include "driver/fs/mount_inspect.h"
#include "driver/fs/state_layout.h"

namespace snapvol::agent {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether the server of a mount directory still runs: it holds the
// directory's lock for its whole life (recovery.h).
bool ServerHoldsLock(const std::string& mount_dir) {
  fs::MountDirLayout layout(mount_dir);
  int fd = ::open(layout.LockFile().c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases it if we took it
  return held;
}

// `pid` is a snapvol mount server (never signal a reused pid).
bool IsMountServer(int pid) {
  if (pid <= 0) return false;
  const std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline.find("snapvol-mount") != std::string::npos;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool WaitUntil(const std::function<bool()>& done, int64_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

Status CheckContainer(const std::string& id) {
  if (id.empty() || id.size() > 1024 || id.find('/') != std::string::npos ||
      id.find('\0') != std::string::npos) {
    return Status::InvalidArgument("container id is empty or not a plain name");
  }
  return Status::Ok();
}

Result<int> Listen(const std::string& path, bool* owns) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("socket path is empty or too long: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty() && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "creating " + dir);
  }
  // A live agent keeps its socket; a stale file (a crashed agent) goes.
  Result<int> other = ConnectAgent(path);
  if (other.ok()) {
    ::close(*other);
    return Status::AlreadyExists("another snapvol agent listens at " + path);
  }
  ::unlink(path.c_str());
  int sock = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) return Status::FromErrno(errno, "socket");
  const mode_t old = ::umask(0177);
  const int rc = ::bind(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  const int e = errno;
  ::umask(old);
  if (rc != 0 || ::listen(sock, 64) != 0) {
    ::close(sock);
    return Status::FromErrno(rc != 0 ? e : errno, "listening at " + path);
  }
  *owns = true;
  return sock;
}

}  // namespace

std::string ContainerMountName(const std::string& container, const std::string& path) {
  return "container " + container + ":" + path;
}

Result<std::unique_ptr<Agent>> Agent::Open(const AgentOptions& options) {
  std::unique_ptr<Agent> a(new Agent(options));
  if (options.store.empty()) return Status::InvalidArgument("no store given");
  a->state_dir_ =
      options.state_dir.empty() ? fs::DefaultStateDir(options.store) : options.state_dir;
  ASSIGN_OR_RETURN(a->store_, store::OpenStore(options.store, core::Env::Default()));
  a->engine_ = std::make_unique<volume::Engine>(a->store_.get(), core::Env::Default());
  if (::pipe2(a->stop_pipe_, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  if (options.listen_fd >= 0) {
    a->listen_fd_ = options.listen_fd;
  } else {
    ASSIGN_OR_RETURN(a->listen_fd_, Listen(options.socket_path, &a->owns_socket_));
  }
  return a;
}

Agent::~Agent() {
  Stop();
  {
    std::unique_lock<std::mutex> lock(conns_mu_);
    conns_cv_.wait(lock, [&] { return conns_.empty(); });
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (owns_socket_) ::unlink(options_.socket_path.c_str());
  for (int fd : stop_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

void Agent::Stop() {
  if (stopping_.exchange(true)) return;
  if (stop_pipe_[1] >= 0) (void)!::write(stop_pipe_[1], "x", 1);
  std::lock_guard<std::mutex> lock(conns_mu_);
  for (int sock : conns_) ::shutdown(sock, SHUT_RDWR);
}

void Agent::StartConnection(int sock, bool denied) {
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    if (stopping_) {
      ::close(sock);
      return;
    }
    conns_.insert(sock);
  }
  std::thread([this, sock, denied] {
    if (denied) {
      // Answer its first request (a reply before it sent would only show
      // it a broken pipe), then hang up.
      std::string message;
      int fd = -1;
      if (ReceiveMessage(sock, &message, &fd, 5000).ok() && fd >= 0) ::close(fd);
      Reply reply;
      reply.status = Status::PermissionDenied("only root may use the snapvol agent");
      (void)SendMessage(sock, EncodeReply(reply));
    } else {
      ServeConnection(sock);
    }
    std::lock_guard<std::mutex> lock(conns_mu_);
    conns_.erase(sock);
    ::close(sock);
    conns_cv_.notify_all();
  }).detach();
}

Status Agent::Serve() {
  while (!stopping_) {
    struct pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int rc = ::poll(p, 2, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Status::FromErrno(errno, "poll");
    if (p[1].revents != 0) break;
    int sock = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (sock < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
      return Status::FromErrno(errno, "accept");
    }
    struct ucred cred {};
    socklen_t len = sizeof(cred);
    const bool denied = ::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
                        (cred.uid != 0 && cred.uid != ::geteuid());
    StartConnection(sock, denied);
  }
  return Status::Ok();
}

void Agent::ServeConnection(int sock) {
  for (;;) {
    std::string message;
    int fd = -1;
    Status st = ReceiveMessage(sock, &message, &fd, -1);
    if (!st.ok()) {
      if (!st.Is(core::Code::kInvalidArgument)) break;
      Reply bad;
      bad.status = st;
      if (!SendMessage(sock, EncodeReply(bad)).ok()) break;
      continue;
    }
    Result<Request> request = DecodeRequest(message);
    Reply reply;
    if (!request.ok()) {
      if (fd >= 0) ::close(fd);
      reply.status = request.status();
    } else {
      reply = Handle(*request, fd);
    }
    if (!SendMessage(sock, EncodeReply(reply)).ok()) break;
  }
}

Reply Agent::Handle(const Request& request, int fd) {
  Reply reply;
  if (request.op != Request::Op::kAttach && fd >= 0) {
    ::close(fd);
    fd = -1;
  }
  switch (request.op) {
    case Request::Op::kPing:
      return reply;
    case Request::Op::kCheck: {
      Result<uint64_t> version = Check(request);
      reply.status = version.status();
      if (version.ok())
        reply.mounts.push_back({request.volume, request.path, "", false, *version, ""});
      return reply;
    }
    case Request::Op::kAttach:
      return Attach(request, fd);
    case Request::Op::kDetach:
      return Detach(request);
  }
  reply.status = Status::InvalidArgument("unknown request");
  return reply;
}

Result<uint64_t> Agent::Check(const Request& r) {
  RETURN_IF_ERROR(CheckContainer(r.container));
  RETURN_IF_ERROR(core::ValidateName("environment", r.environment));
  RETURN_IF_ERROR(core::ValidateName("volume", r.volume));
  if (r.path.empty() || r.path[0] != '/') {
    return Status::InvalidArgument("the path of volume " + r.volume + " must be absolute");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> parts, core::SplitVolumePath(r.path));
  if (parts.empty()) return Status::InvalidArgument("a volume cannot be mounted at /");
  if (r.commit_interval_ms < 0) return Status::InvalidArgument("negative commit interval");
  if (r.version != 0 && !r.read_only) {
    return Status::InvalidArgument("a pinned version is read-only");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Result<volume::VolumeRecord> vol = engine_->GetVolume(r.environment, r.volume);
  if (!vol.ok() && vol.status().Is(core::Code::kNotFound) && r.create_if_missing &&
      r.version == 0) {
    volume::CreateVolumeOptions create;
    create.if_missing = true;  // another container may create it meanwhile
    vol = engine_->CreateVolume(r.environment, r.volume, create);
  }
  if (!vol.ok()) return vol.status();
  if (r.version != 0) {
    ASSIGN_OR_RETURN(volume::Snapshot snap, engine_->AtVersion(*vol, r.version));
    return snap.version;
  }
  ASSIGN_OR_RETURN(volume::Snapshot head, engine_->Head(*vol));
  return head.version;
}

Reply Agent::Attach(const Request& r, int fd) {
  Reply reply;
  if (fd < 0) {
    reply.status = Status::InvalidArgument("attach without a FUSE descriptor");
    return reply;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
    ::close(fd);
    reply.status = Status::InvalidArgument("the descriptor handed over is not /dev/fuse");
    return reply;
  }
  Result<uint64_t> version = Check(r);
  if (!version.ok()) {
    ::close(fd);
    reply.status = version.status();
    return reply;
  }
  fs::MountOptions o;
  o.store = options_.store;
  o.state_dir = state_dir_;
  o.environment = r.environment;
  o.volume = r.volume;
  o.mountpoint = ContainerMountName(r.container, r.path);
  o.commit_interval = std::chrono::milliseconds(r.commit_interval_ms);
  o.read_only = r.read_only;
  o.version = r.version;
  o.server_binary = options_.server_binary;
  o.author_tool = "oci hook";
  o.container = r.container;
  o.fuse_fd = fd;
  reply.status = fs::Mount(o);
  ::close(fd);
  if (reply.status.ok()) reply.mounts.push_back({r.volume, r.path, "", false, *version, ""});
  return reply;
}

std::vector<fs::MountInfo> Agent::ContainerMounts(const std::string& container) {
  std::vector<fs::MountInfo> out;
  for (fs::MountInfo& info : fs::RecordedMounts(state_dir_)) {
    if (info.container == container) out.push_back(std::move(info));
  }
  return out;
}

Reply Agent::Detach(const Request& r) {
  Reply reply;
  reply.status = CheckContainer(r.container);
  if (!reply.status.ok()) return reply;
  const int64_t timeout = r.timeout_ms > 0 ? r.timeout_ms : 10 * 60 * 1000;
  fs::StateLayout layout(state_dir_);
  std::vector<fs::MountInfo> mounts = ContainerMounts(r.container);
  bool need_recovery = false;
  for (const fs::MountInfo& m : mounts) {
    const std::string dir = layout.MountDir(m.id);
    // The container's mount namespace is gone: the server sees ENODEV,
    // makes its final commit and exits. If something keeps the namespace
    // alive, SIGTERM ends the server the same way (final commit).
    if (!WaitUntil([&] { return !ServerHoldsLock(dir); },
                   std::min(options_.detach_grace_ms, timeout))) {
      if (IsMountServer(m.pid) && ServerHoldsLock(dir)) ::kill(m.pid, SIGTERM);
      (void)WaitUntil([&] { return !ServerHoldsLock(dir); }, timeout);
    }
    if (Exists(dir)) need_recovery = true;
  }
  if (need_recovery) {
    Result<fs::RecoverReport> recovered = fs::Recover(options_.store, state_dir_);
    if (!recovered.ok()) reply.status = recovered.status();
  }
  for (const fs::MountInfo& m : mounts) {
    MountResult out;
    out.volume = m.volume;
    out.mount_id = m.id;
    const std::string name = m.mountpoint;
    const size_t colon = name.find(':');
    out.path = colon == std::string::npos ? name : name.substr(colon + 1);
    const std::string dir = layout.MountDir(m.id);
    out.committed = !Exists(dir);
    if (!out.committed) {
      out.error = ServerHoldsLock(dir) ? "its mount server did not stop"
                                       : "its final commit failed; the changes stay in " + dir +
                                             " for `snapvol recover`";
      if (reply.status.ok()) {
        reply.status = Status::Unavailable("the final commit of volume " + m.volume + " at " +
                                           out.path + " did not land: " + out.error);
      }
    }
    reply.mounts.push_back(std::move(out));
  }
  return reply;
}

}  // namespace snapvol::agent
