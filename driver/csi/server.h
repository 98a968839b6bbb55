// Server: the gRPC server of snapvol-driver on one unix socket, serving
// csi.v1.Identity always, csi.v1.Controller in controller and all modes,
// csi.v1.Node and snapvol.v1.Node in node and all modes.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <mutex>
#include <string>

#include "driver/core/result.h"
#include "driver/csi/controller_service.h"
#include "driver/csi/identity_service.h"
#include "driver/csi/node_service.h"
#include "driver/csi/snapvol_node_service.h"

namespace snapvol::csi {

enum class Mode { kController, kNode, kAll };

// "controller", "node" or "all"; InvalidArgument otherwise.
core::Result<Mode> ParseMode(const std::string& text);

// The socket path of "unix:///abs/path", "unix:/abs/path" or "/abs/path".
// InvalidArgument for anything else (snapvol serves only unix sockets: the
// CSI socket is node-local and shared with kubelet through a hostPath).
core::Result<std::string> UnixSocketPath(const std::string& endpoint);

struct ServerOptions {
  std::string endpoint;
  Mode mode = Mode::kAll;
  std::string vendor_version;
  NodeOptions node;
};

class Server {
 public:
  // `engine` always; `registry` for controller/all; `mounter` and `published`
  // for node/all. All must outlive the server.
  struct Parts {
    volume::Engine* engine = nullptr;
    Registry* registry = nullptr;
    Mounter* mounter = nullptr;
    PublishStore* published = nullptr;
  };

  // Builds the services, runs NodeService::Start (node modes), removes a
  // stale socket file and starts serving.
  static core::Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Parts parts);
  ~Server();

  // Blocks until Shutdown.
  void Wait();
  // Stops accepting calls, waits for running ones (up to a deadline) and
  // removes the socket. Mount servers are separate processes and keep
  // serving. Idempotent, thread-safe.
  void Shutdown();

  const std::string& socket_path() const { return socket_path_; }

 private:
  Server() = default;

  std::string socket_path_;
  std::once_flag shutdown_once_;
  std::unique_ptr<IdentityService> identity_;
  std::unique_ptr<ControllerService> controller_;
  std::unique_ptr<NodeService> node_;
  std::unique_ptr<SnapvolNodeService> snapvol_node_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace snapvol::csi
