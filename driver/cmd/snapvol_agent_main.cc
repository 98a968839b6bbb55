// snapvol-agent: the node agent for OCI runtime hooks (driver/agent/agent.h,
// docs/oci.md).
//
//   snapvol-agent --store DIR [--state-dir DIR] [--socket PATH]
//
// Socket activation: with LISTEN_FDS=1 and LISTEN_PID = this process (a
// systemd .socket unit), it serves the socket it was given on descriptor 3.
// SIGTERM or SIGINT stop it; the mount servers it started keep running.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "driver/agent/agent.h"

namespace {

int Usage(const char* why) {
  std::fprintf(stderr,
               "snapvol-agent: %s\nusage: snapvol-agent --store DIR [--state-dir DIR] "
               "[--socket PATH]\n  (also $SNAPVOL_STORE; systemd socket activation)\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  snapvol::agent::AgentOptions options;
  if (const char* s = std::getenv("SNAPVOL_STORE"); s != nullptr) options.store = s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return Usage(("missing value after " + arg).c_str());
    if (arg == "--store") {
      options.store = argv[++i];
    } else if (arg == "--state-dir") {
      options.state_dir = argv[++i];
    } else if (arg == "--socket") {
      options.socket_path = argv[++i];
    } else if (arg == "--server-binary") {
      options.server_binary = argv[++i];
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }
  if (options.store.empty()) return Usage("no store given");
  const char* listen_pid = std::getenv("LISTEN_PID");
  const char* listen_fds = std::getenv("LISTEN_FDS");
  if (listen_pid != nullptr && listen_fds != nullptr &&
      std::strtol(listen_pid, nullptr, 10) == ::getpid() &&
      std::strtol(listen_fds, nullptr, 10) >= 1) {
    options.listen_fd = 3;
  }
  // Signals are taken by one thread (below), never by the serving threads.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto agent = snapvol::agent::Agent::Open(options);
  if (!agent.ok()) {
    std::fprintf(stderr, "snapvol-agent: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop, &sig);
    (*agent)->Stop();
  });
  waiter.detach();
  std::fprintf(stderr, "snapvol-agent: serving store %s at %s\n", options.store.c_str(),
               options.listen_fd >= 0 ? "the socket systemd passed" : options.socket_path.c_str());
  snapvol::core::Status st = (*agent)->Serve();
  if (!st.ok()) {
    std::fprintf(stderr, "snapvol-agent: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
