#include "driver/agent/agent_protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace snapvol::agent {
namespace {

using json = nlohmann::json;

constexpr const char* kOps[] = {"ping", "check", "attach", "detach"};

template <typename T>
Status Get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return Status::InvalidArgument(std::string("agent message: ") + key + " has the wrong type");
  }
  return Status::Ok();
}

Result<json> ParseObject(const std::string& text) {
  if (text.size() > kMaxMessageBytes) return Status::InvalidArgument("agent message too large");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("agent message is not a JSON object");
  }
  return j;
}

}  // namespace

std::string EncodeRequest(const Request& r) {
  json j{{"op", kOps[static_cast<int>(r.op)]},
         {"container", r.container},
         {"environment", r.environment},
         {"volume", r.volume},
         {"path", r.path},
         {"read_only", r.read_only},
         {"version", r.version},
         {"commit_interval_ms", r.commit_interval_ms},
         {"create_if_missing", r.create_if_missing},
         {"timeout_ms", r.timeout_ms}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Request> DecodeRequest(const std::string& text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text));
  Request r;
  std::string op;
  RETURN_IF_ERROR(Get(j, "op", &op));
  bool known = false;
  for (int i = 0; i < 4; ++i) {
    if (op == kOps[i]) {
      r.op = static_cast<Request::Op>(i);
      known = true;
    }
  }
  if (!known) return Status::InvalidArgument("agent message: unknown op '" + op + "'");
  RETURN_IF_ERROR(Get(j, "container", &r.container));
  RETURN_IF_ERROR(Get(j, "environment", &r.environment));
  RETURN_IF_ERROR(Get(j, "volume", &r.volume));
  RETURN_IF_ERROR(Get(j, "path", &r.path));
  RETURN_IF_ERROR(Get(j, "read_only", &r.read_only));
  RETURN_IF_ERROR(Get(j, "version", &r.version));
  RETURN_IF_ERROR(Get(j, "commit_interval_ms", &r.commit_interval_ms));
  RETURN_IF_ERROR(Get(j, "create_if_missing", &r.create_if_missing));
  RETURN_IF_ERROR(Get(j, "timeout_ms", &r.timeout_ms));
  return r;
}

std::string EncodeReply(const Reply& r) {
  json mounts = json::array();
  for (const MountResult& m : r.mounts) {
    mounts.push_back({{"volume", m.volume},
                      {"path", m.path},
                      {"mount_id", m.mount_id},
                      {"committed", m.committed},
                      {"version", m.version},
                      {"error", m.error}});
  }
  json j{{"code", static_cast<int>(r.status.code())},
         {"errno", r.status.sys_errno()},
         {"message", r.status.message()},
         {"mounts", mounts}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Reply> DecodeReply(const std::string& text) {
  ASSIGN_OR_RETURN(json j, ParseObject(text));
  int code = 0, err = 0;
  std::string message;
  RETURN_IF_ERROR(Get(j, "code", &code));
  RETURN_IF_ERROR(Get(j, "errno", &err));
  RETURN_IF_ERROR(Get(j, "message", &message));
  if (code < 0 || code > static_cast<int>(core::Code::kInternal)) {
    return Status::InvalidArgument("agent reply: unknown code " + std::to_string(code));
  }
  Reply r;
  r.status = code == 0 ? Status::Ok() : Status(static_cast<core::Code>(code), message, err);
  auto mounts = j.find("mounts");
  if (mounts != j.end() && !mounts->is_null()) {
    if (!mounts->is_array()) return Status::InvalidArgument("agent reply: mounts is not a list");
    for (const json& m : *mounts) {
      if (!m.is_object()) return Status::InvalidArgument("agent reply: a mount is not an object");
      MountResult out;
      RETURN_IF_ERROR(Get(m, "volume", &out.volume));
      RETURN_IF_ERROR(Get(m, "path", &out.path));
      RETURN_IF_ERROR(Get(m, "mount_id", &out.mount_id));
      RETURN_IF_ERROR(Get(m, "committed", &out.committed));
      RETURN_IF_ERROR(Get(m, "version", &out.version));
      RETURN_IF_ERROR(Get(m, "error", &out.error));
      r.mounts.push_back(std::move(out));
    }
  }
  return r;
}

Status SendMessage(int sock, const std::string& message, int fd) {
  if (message.size() > kMaxMessageBytes) return Status::InvalidArgument("agent message too large");
  struct iovec iov = {const_cast<char*>(message.data()), message.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    std::memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "sending to the snapvol agent");
    if (static_cast<size_t>(n) != message.size()) {
      return Status(core::Code::kIOError, "short send to the snapvol agent");
    }
    return Status::Ok();
  }
}

Status ReceiveMessage(int sock, std::string* message, int* fd, int timeout_ms) {
  *fd = -1;
  struct pollfd p = {sock, POLLIN, 0};
  for (;;) {
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Status::FromErrno(errno, "waiting for the snapvol agent");
    if (rc == 0) return Status::Aborted("timed out waiting for a message");
    break;
  }
  std::string buf(kMaxMessageBytes + 1, '\0');
  struct iovec iov = {buf.data(), buf.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::FromErrno(errno, "receiving a message");
  // Descriptors first, so none leaks whatever else is wrong.
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int got;
      std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*fd < 0) {
        *fd = got;
      } else {
        ::close(got);
      }
    }
  }
  auto drop = [&](Status s) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
    return s;
  };
  if (n == 0) return drop(Status::Unavailable("the peer closed the connection"));
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
      static_cast<size_t>(n) > kMaxMessageBytes) {
    return drop(Status::InvalidArgument("message too large"));
  }
  message->assign(buf.data(), static_cast<size_t>(n));
  return Status::Ok();
}

Result<int> ConnectAgent(const std::string& socket_path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("agent socket path too long: " + socket_path);
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int sock = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) return Status::FromErrno(errno, "socket");
  if (::connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int e = errno;
    ::close(sock);
    return Status(core::Code::kUnavailable,
                  "the snapvol agent is not running at " + socket_path + " (" + std::strerror(e) +
                      "); start it with `systemctl start snapvol-agent.socket`, or run "
                      "`snapvol-agent --store STORE --socket " +
                      socket_path + "` (docs/oci.md)",
                  e);
  }
  return sock;
}

}  // namespace snapvol::agent
