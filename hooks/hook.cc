#include "hooks/hook.h"

#include <fcntl.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "driver/agent/agent_protocol.h"
#include "hooks/annotations.h"
#include "hooks/container_mount.h"

namespace snapvol::hooks {
namespace {

using agent::Reply;
using agent::Request;
using core::Result;
using core::Status;

// How long the agent may take to start a server and see it answer.
constexpr int kAttachTimeoutMs = 60'000;

class AgentConnection {
 public:
  static Result<AgentConnection> Open(const std::string& path) {
    ASSIGN_OR_RETURN(int sock, agent::ConnectAgent(path));
    return AgentConnection(sock);
  }
  AgentConnection(AgentConnection&& o) noexcept : sock_(o.sock_) { o.sock_ = -1; }
  ~AgentConnection() {
    if (sock_ >= 0) ::close(sock_);
  }

  Result<Reply> Call(const Request& request, int fd, int timeout_ms) {
    RETURN_IF_ERROR(agent::SendMessage(sock_, agent::EncodeRequest(request), fd));
    std::string message;
    int got = -1;
    Status st = agent::ReceiveMessage(sock_, &message, &got, timeout_ms);
    if (got >= 0) ::close(got);
    if (st.Is(core::Code::kAborted)) {
      return Status::Unavailable("the snapvol agent did not answer within " +
                                 std::to_string(timeout_ms / 1000) + " s");
    }
    RETURN_IF_ERROR(st);
    return agent::DecodeReply(message);
  }

 private:
  explicit AgentConnection(int sock) : sock_(sock) {}
  int sock_ = -1;
};

Request BaseRequest(const HookRequest& req, const OciState& state, const VolumeRequest& v) {
  Request r;
  r.container = state.id;
  r.environment = req.environment;
  r.volume = v.volume;
  r.path = v.path;
  r.read_only = v.read_only;
  r.version = req.version;
  r.commit_interval_ms = req.commit_interval.count();
  r.create_if_missing = req.create_if_missing;
  return r;
}

Status Named(const Status& s, const VolumeRequest& v) {
  return Status(s.code(), "volume " + v.volume + " at " + v.path + ": " + s.message(),
                s.sys_errno());
}

Status CreateRuntime(const HookOptions& options, const OciState& state, const OciConfig& config,
                     const HookRequest& req) {
  ASSIGN_OR_RETURN(AgentConnection agent, AgentConnection::Open(options.agent_socket));
  // Every volume is checked before anything is mounted.
  for (const VolumeRequest& v : req.volumes) {
    Request check = BaseRequest(req, state, v);
    check.op = Request::Op::kCheck;
    ASSIGN_OR_RETURN(Reply reply, agent.Call(check, -1, kAttachTimeoutMs));
    if (!reply.status.ok()) return Named(reply.status, v);
  }
  ASSIGN_OR_RETURN(std::string rootfs, ResolveRootfs(state.bundle, config.root_path));
  // /dev/fuse is opened here, in the host's namespaces: the container's
  // may not have it.
  std::vector<int> fds;
  auto close_all = [&] {
    for (int fd : fds) ::close(fd);
  };
  for (size_t i = 0; i < req.volumes.size(); ++i) {
    int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      Status st = Status::FromErrno(errno, "opening /dev/fuse");
      close_all();
      return st;
    }
    fds.push_back(fd);
  }
  Result<ContainerMount> ns = ContainerMount::Enter(state.pid, rootfs);
  if (!ns.ok()) {
    close_all();
    return ns.status();
  }
  Status failed = Status::Ok();
  for (size_t i = 0; i < req.volumes.size() && failed.ok(); ++i) {
    const VolumeRequest& v = req.volumes[i];
    failed =
        ns->MountFuse(fds[i], v.path, "snapvol:" + req.environment + "/" + v.volume, v.read_only);
    if (!failed.ok()) {
      failed = Named(failed, v);
      break;
    }
    Request attach = BaseRequest(req, state, v);
    attach.op = Request::Op::kAttach;
    Result<Reply> reply = agent.Call(attach, fds[i], kAttachTimeoutMs);
    if (!reply.ok()) {
      failed = Named(reply.status(), v);
    } else if (!reply->status.ok()) {
      failed = Named(reply->status, v);
    }
  }
  close_all();
  // Unmounting ends the servers already started: their connections go.
  if (!failed.ok()) ns->Undo();
  return failed;
}

Status Poststop(const HookOptions& options, const OciState& state) {
  ASSIGN_OR_RETURN(AgentConnection agent, AgentConnection::Open(options.agent_socket));
  Request detach;
  detach.op = Request::Op::kDetach;
  detach.container = state.id;
  detach.timeout_ms = options.poststop_timeout_ms;
  ASSIGN_OR_RETURN(Reply reply,
                   agent.Call(detach, -1, static_cast<int>(options.poststop_timeout_ms + 30'000)));
  return reply.status;
}

}  // namespace

Status RunHook(const HookOptions& options, const std::string& state_json) {
  ASSIGN_OR_RETURN(OciState state, ParseState(state_json));
  ASSIGN_OR_RETURN(std::string config_json,
                   ReadBounded(state.bundle + "/config.json", kMaxConfigBytes));
  ASSIGN_OR_RETURN(OciConfig config, ParseConfig(config_json));
  const auto& annotations = state.annotations.empty() ? config.annotations : state.annotations;
  ASSIGN_OR_RETURN(std::optional<HookRequest> req, ParseAnnotations(annotations));
  if (!req) return Status::Ok();
  // One hooks.d entry serves both stages: then the state's status says
  // which one this is.
  std::string stage = options.stage;
  if (stage.empty() && (state.status == "creating" || state.status == "created")) {
    stage = "createRuntime";
  }
  if (stage.empty() && state.status == "stopped") stage = "poststop";
  if (stage == "createRuntime" || stage == "prestart") {
    return CreateRuntime(options, state, config, *req);
  }
  if (stage == "poststop") return Poststop(options, state);
  return Status::InvalidArgument("unknown hook stage '" + stage + "' (status '" + state.status +
                                 "'; expected createRuntime, prestart or poststop)");
}

}  // namespace snapvol::hooks
