#include "driver/csi/server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "driver/csi/log.h"

namespace snapvol::csi {

using core::Result;
using core::Status;

Result<Mode> ParseMode(const std::string& text) {
  if (text == "controller") return Mode::kController;
  if (text == "node") return Mode::kNode;
  if (text == "all") return Mode::kAll;
  return Status::InvalidArgument("mode '" + text + "' is not controller, node or all");
}

Result<std::string> UnixSocketPath(const std::string& endpoint) {
  std::string path = endpoint;
  if (path.rfind("unix://", 0) == 0) {
    path = path.substr(7);
  } else if (path.rfind("unix:", 0) == 0) {
    path = path.substr(5);
  }
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("endpoint '" + endpoint +
                                   "' is not a unix socket (unix:///path/to/csi.sock)");
  }
  return path;
}

namespace {

// Reads the catalog and the object store; what Probe calls.
Status ProbeStore(volume::Engine* engine, Registry* registry) {
  auto envs = engine->ListEnvironments();
  if (!envs.ok()) return envs.status().Annotate("store catalog");
  auto present = engine->objects().Contains(core::Hash(), store::ObjectKind::kCommit);
  if (!present.ok()) return present.status().Annotate("store objects");
  if (registry) RETURN_IF_ERROR(registry->Check());
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Parts parts) {
  if (!parts.engine) return Status::InvalidArgument("server: no engine");
  const bool controller = options.mode != Mode::kNode;
  const bool node = options.mode != Mode::kController;
  if (controller && !parts.registry) return Status::InvalidArgument("server: no registry");
  if (node && (!parts.mounter || !parts.published)) {
    return Status::InvalidArgument("server: no mounter");
  }
  if (node && options.node.node_id.empty()) {
    return Status::InvalidArgument("node mode needs a node id (--node-id)");
  }
  ASSIGN_OR_RETURN(std::string socket, UnixSocketPath(options.endpoint));

  std::unique_ptr<Server> s(new Server());
  s->socket_path_ = socket;
  volume::Engine* engine = parts.engine;
  Registry* registry = controller ? parts.registry : nullptr;
  s->identity_ = std::make_unique<IdentityService>(
      options.vendor_version, controller,
      [engine, registry] { return ProbeStore(engine, registry); });
  if (controller) s->controller_ = std::make_unique<ControllerService>(engine, parts.registry);
  if (node) {
    s->node_ = std::make_unique<NodeService>(engine, parts.mounter, parts.published, options.node);
    RETURN_IF_ERROR(s->node_->Start());
    s->snapvol_node_ = std::make_unique<SnapvolNodeService>(parts.mounter, parts.published,
                                                            &s->node_->target_locks());
  }

  std::error_code ec;
  const std::filesystem::path socket_dir = std::filesystem::path(socket).parent_path();
  if (std::filesystem::create_directories(socket_dir, ec)) {
    std::filesystem::permissions(socket_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  // A socket left by a previous (killed) driver would make bind fail.
  if (::unlink(socket.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove stale socket " + socket);
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(s->identity_.get());
  if (s->controller_) builder.RegisterService(s->controller_.get());
  if (s->node_) {
    builder.RegisterService(s->node_.get());
    builder.RegisterService(s->snapvol_node_.get());
  }
  s->server_ = builder.BuildAndStart();
  if (!s->server_) return Status::Unavailable("cannot serve gRPC on " + options.endpoint);
  // Whoever can connect can mount any volume anywhere below the kubelet
  // directory: root only (kubelet and the sidecars run as root).
  if (::chmod(socket.c_str(), 0600) != 0) {
    return Status::FromErrno(errno, "restrict the CSI socket " + socket);
  }
  LOG_CSI(kInfo) << "serving "
                 << (controller && node ? "controller+node"
                     : controller       ? "controller"
                                        : "node")
                 << " on unix://" << socket;
  return s;
}

Server::~Server() { Shutdown(); }

void Server::Wait() {
  if (server_) server_->Wait();
}

void Server::Shutdown() {
  if (!server_) return;
  std::call_once(shutdown_once_, [this] {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ::unlink(socket_path_.c_str());
  });
}

}  // namespace snapvol::csi
