// Agent: the node agent that owns the mount servers of containers started
// by OCI runtimes (docs/oci.md). snapvol-hook mounts a FUSE connection into
// a container at createRuntime and hands its descriptor to the agent, which
// starts a mount server for it (fs::Mount with fuse_fd) outside the
// container's PID namespace and cgroup; at poststop the hook asks the agent
// to wait for those servers' final commits.
//
// Mount servers are their own processes (mount.h): the agent may restart
// while containers run; their mounts keep serving, and a detach finds them
// again through their mount.json (`container`).
//
// Who may talk to it: the socket is 0600 in a 0700 directory, and every
// connection's peer must be root (SO_PEERCRED); the store is the agent's,
// never the caller's. Names, paths and versions in requests are checked as
// untrusted input.
//
// Thread-safe: one thread per connection; the engine is used under mu_.
// Lock order: conns_mu_ and mu_ are never held together.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "driver/agent/agent_protocol.h"
#include "driver/fs/control_json.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"

namespace snapvol::agent {

struct AgentOptions {
  std::string store;      // the embedded store's directory
  std::string state_dir;  // "" = <store>/state
  std::string socket_path = kDefaultSocket;
  int listen_fd = -1;                // an already listening socket (systemd), else bind socket_path
  std::string server_binary;         // "" = as fs::Mount finds it
  int64_t detach_grace_ms = 10'000;  // poststop: wait this long for a server to end by itself
};

class Agent {
 public:
  // Opens the store and listens (creating the socket's directory 0700 and
  // the socket 0600; a stale socket file is replaced, a live agent's is
  // not: AlreadyExists).
  static Result<std::unique_ptr<Agent>> Open(const AgentOptions& options);
  ~Agent();

  // Accepts connections until Stop(). Returns an accept error, if any.
  Status Serve();
  // Makes Serve return; safe from a signal-handling thread.
  void Stop();

  // One request (tests call this directly). `fd` is the descriptor that
  // came with it (-1 if none); Handle takes ownership.
  Reply Handle(const Request& request, int fd);

  const std::string& state_dir() const { return state_dir_; }

 private:
  explicit Agent(AgentOptions options) : options_(std::move(options)) {}
  // Serves `sock` on a thread of its own (`denied`: answers the first
  // request with PermissionDenied), then closes it.
  void StartConnection(int sock, bool denied);
  void ServeConnection(int sock);
  // Checks a check/attach request and resolves the version it will show.
  Result<uint64_t> Check(const Request& request);
  Reply Attach(const Request& request, int fd);
  Reply Detach(const Request& request);
  // The mounts recorded for `container` in this agent's state directory.
  std::vector<fs::MountInfo> ContainerMounts(const std::string& container);

  const AgentOptions options_;
  std::string state_dir_;
  int listen_fd_ = -1;
  bool owns_socket_ = false;
  std::atomic<bool> stopping_{false};
  int stop_pipe_[2] = {-1, -1};
  std::mutex mu_;  // guards the engine
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
  // Connections being served, each by a detached thread: Stop() shuts
  // them down, the destructor waits until they are gone.
  std::mutex conns_mu_;
  std::condition_variable conns_cv_;
  std::set<int> conns_;
};

// The mountpoint name the agent gives a container's mount (status, logs,
// `snapvol recover`): "container ID:PATH".
std::string ContainerMountName(const std::string& container, const std::string& path);

}  // namespace snapvol::agent
