// The node agent's protocol (docs/oci.md "The agent"): snapvol-hook asks the
// agent, over a unix SOCK_SEQPACKET socket (one message per packet, root
// only), to serve the FUSE connections it mounted into a container, and at
// poststop to wait for their final commits. A message is one JSON object of
// at most kMaxMessageBytes; an `attach` request carries the FUSE descriptor
// (SCM_RIGHTS).
//
// Linked by the hook, which must stay small and single-threaded: no mount,
// volume or store code here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "driver/core/result.h"

namespace snapvol::agent {

using core::Result;
using core::Status;

inline constexpr size_t kMaxMessageBytes = 64 << 10;
inline constexpr char kDefaultSocket[] = "/run/snapvol/agent.sock";

struct Request {
  enum class Op { kPing, kCheck, kAttach, kDetach };
  Op op = Op::kPing;
  std::string container;  // the OCI container id
  std::string environment = "main";
  std::string volume;
  std::string path;  // inside the container
  bool read_only = false;
  uint64_t version = 0;
  int64_t commit_interval_ms = 5000;
  bool create_if_missing = false;
  int64_t timeout_ms = 0;  // detach: how long to wait for final commits
};

struct MountResult {
  std::string volume, path, mount_id;
  bool committed = false;  // detach: the final commit landed (or nothing was pending)
  uint64_t version = 0;    // attach: the version shown
  std::string error;       // detach: why not committed (the changes stay for recovery)
};

struct Reply {
  Status status;
  std::vector<MountResult> mounts;
};

std::string EncodeRequest(const Request& request);
// InvalidArgument for anything malformed (unknown op, wrong types, bad
// names or paths are checked by the agent, not here).
Result<Request> DecodeRequest(const std::string& json);
std::string EncodeReply(const Reply& reply);
Result<Reply> DecodeReply(const std::string& json);

// Sends one message (and `fd` if >= 0) on a SOCK_SEQPACKET socket.
Status SendMessage(int sock, const std::string& message, int fd = -1);
// Receives one message; a descriptor that came with it is stored in `*fd`
// (close-on-exec; -1 if none; extra descriptors are closed). Waits at most
// `timeout_ms` (< 0: forever). Unavailable if the peer closed, Aborted on
// timeout.
Status ReceiveMessage(int sock, std::string* message, int* fd, int timeout_ms);

// Connects to the agent at `socket_path`. Unavailable with a message that
// says how to start the agent if nobody listens there.
Result<int> ConnectAgent(const std::string& socket_path);

}  // namespace snapvol::agent
