#include "driver/csi/driver_app.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "driver/csi/log.h"
#include "driver/csi/server.h"
#include "driver/csi/volume_attributes.h"
#include "driver/store/store.h"
#ifdef SNAPVOL_CSI_HAVE_FS
#include "driver/csi/fs_mounter.h"
#include "driver/fs/sandbox.h"
#endif

#ifndef SNAPVOL_VERSION
#define SNAPVOL_VERSION "dev"
#endif

namespace snapvol::csi {

namespace {

int Fail(const core::Status& st) {
  LOG_CSI(kError) << st.ToString();
  return 1;
}

}  // namespace

int RunDriver(int argc, char** argv) {
#ifdef SNAPVOL_CSI_HAVE_FS
  if (argc >= 2 && std::string(argv[1]) == "__mount") return RunMountHelper(argc, argv);
#endif
  CLI::App app{"snapvol-driver: the snapvol CSI driver (" + std::string(kDriverName) + ")"};
  std::string endpoint = "unix:///csi/csi.sock";
  std::string node_id;
  std::string mode_text = "all";
  std::string store_spec;
  std::string state_dir = "/var/lib/snapvol/state";
  std::string registry_path;
  std::string commit_interval_text = "5s";
  std::string log_level_text = "info";
  int64_t max_volumes = 0;
  bool fs_group = true;
  std::string mount_cgroup;
  std::string tenancy_config;
  std::string kubelet_dir = "/var/lib/kubelet";
  app.add_option("--endpoint", endpoint, "CSI endpoint (unix socket)")
      ->envname("CSI_ENDPOINT")
      ->capture_default_str();
  app.add_option("--node-id", node_id, "this node's id (default: host name)")->envname("NODE_ID");
  app.add_option("--mode", mode_text, "services to serve")
      ->check(CLI::IsMember({"controller", "node", "all"}))
      ->capture_default_str();
  app.add_option("--store", store_spec, "store spec: directory of the embedded store")
      ->envname("SNAPVOL_STORE")
      ->required();
  app.add_option("--state-dir", state_dir,
                 "node-local state: publish records (csi/) and mount state (mounts/)")
      ->envname("SNAPVOL_STATE_DIR")
      ->capture_default_str();
  app.add_option("--registry", registry_path,
                 "controller registry database (default: STATE_DIR/csi/registry.db)");
  app.add_option("--commit-interval", commit_interval_text,
                 "default background commit interval of mounts (0 = off)")
      ->capture_default_str();
  app.add_option("--log-level", log_level_text, "debug, info, warning or error")
      ->envname("SNAPVOL_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--max-volumes-per-node", max_volumes, "0 = no limit")->capture_default_str();
  app.add_flag("--fs-group-delegation,!--no-fs-group-delegation", fs_group,
               "advertise VOLUME_MOUNT_GROUP (default): kubelet passes the pod's fsGroup to "
               "NodePublishVolume and the mount root is given to that group, instead of kubelet "
               "walking the volume");
  app.add_option("--mount-cgroup", mount_cgroup,
                 "host cgroup v2 directory for mount servers, so they survive a restart of the "
                 "driver container (e.g. /host/sys/fs/cgroup/snapvol.slice)")
      ->envname("SNAPVOL_MOUNT_CGROUP");
  app.add_option("--tenancy-config", tenancy_config,
                 "YAML file: which environments inline volumes of each namespace may use "
                 "(default: only the environment named like the pod's namespace)")
      ->envname("SNAPVOL_TENANCY_CONFIG");
  app.add_option("--kubelet-dir", kubelet_dir,
                 "kubelet's root directory: NodePublishVolume mounts only below it")
      ->capture_default_str();
  app.set_version_flag("--version", std::string("snapvol-driver ") + SNAPVOL_VERSION);
  CLI11_PARSE(app, argc, argv);
  // Everything the driver creates (socket, state, publish records) is the
  // owner's (root's) only; mount servers set their own modes.
  ::umask(077);
#ifdef SNAPVOL_CSI_HAVE_FS
  // Before it reads anything it did not write (the tenancy file, the store,
  // publish records): a syscall allowlist, which the mount helpers and
  // servers it starts inherit. Fail closed, like a mount server.
  if (fs::ShouldSandboxMountServer()) {
    if (core::Status st = core::InstallSyscallAllowlist(fs::DriverAllowlist()); !st.ok()) {
      return Fail(st.Annotate("sandboxing the driver (SNAPVOL_SECCOMP=0 turns this off)"));
    }
  }
#endif

  LogLevel level;
  if (!ParseLogLevel(log_level_text, &level)) {
    std::fprintf(stderr, "snapvol-driver: --log-level '%s' is not debug, info, warning or error\n",
                 log_level_text.c_str());
    return 2;
  }
  SetLogLevel(level);
  auto mode = ParseMode(mode_text);
  if (!mode.ok()) return Fail(mode.status());
  auto interval = ParseDuration(commit_interval_text, "--commit-interval");
  if (!interval.ok()) return Fail(interval.status());
  if (node_id.empty()) node_id = volume::HostName();
  TenancyPolicy tenancy;
  if (!tenancy_config.empty()) {
    auto loaded = TenancyPolicy::Load(tenancy_config);
    if (!loaded.ok()) return Fail(loaded.status());
    tenancy = std::move(loaded).value();
  }
  if (registry_path.empty()) registry_path = state_dir + "/csi/registry.db";

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // A mount server's death must not kill the driver through a broken pipe.
  signal(SIGPIPE, SIG_IGN);

  core::Env* env = core::Env::Default();
  auto store = store::OpenStore(store_spec, env);
  if (!store.ok()) return Fail(store.status().Annotate("open store"));
  for (const std::string& w : (*store)->warnings) LOG_CSI(kWarning) << w;
  volume::Engine engine(store->get(), env);

  std::unique_ptr<Registry> registry;
  if (*mode != Mode::kNode) {
    auto opened = OpenSqliteRegistry(registry_path);
    if (!opened.ok()) return Fail(opened.status());
    registry = std::move(opened).value();
  }
  std::unique_ptr<Mounter> mounter;
  std::unique_ptr<PublishStore> published;
  if (*mode != Mode::kController) {
#ifdef SNAPVOL_CSI_HAVE_FS
    FsMounterOptions mo;
    mo.store = store_spec;
    mo.state_dir = state_dir;
    mo.helper_binary = "/proc/self/exe";
    mo.default_commit_interval = *interval;
    mo.mount_cgroup = mount_cgroup;
    mounter = std::make_unique<FsMounter>(mo);
#else
    return Fail(core::Status::FailedPrecondition(
        "this snapvol-driver was built without the mount library; only --mode controller works"));
#endif
    published = std::make_unique<PublishStore>(env, state_dir + "/csi/published");
  }

  ServerOptions options;
  options.endpoint = endpoint;
  options.mode = *mode;
  options.vendor_version = SNAPVOL_VERSION;
  options.node.node_id = node_id;
  options.node.max_volumes_per_node = max_volumes;
  options.node.mount_group = fs_group;
  options.node.tenancy = std::move(tenancy);
  options.node.kubelet_dir = kubelet_dir;
  auto server = Server::Start(
      options, Server::Parts{&engine, registry.get(), mounter.get(), published.get()});
  if (!server.ok()) return Fail(server.status());
  LOG_CSI(kInfo) << "snapvol-driver " << SNAPVOL_VERSION << " node " << node_id << " store "
                 << (*store)->spec;

  std::thread waiter([&] { (*server)->Wait(); });
  int sig = 0;
  sigwait(&stop, &sig);
  LOG_CSI(kInfo) << "signal " << sig << ": stopping (mount servers keep running)";
  (*server)->Shutdown();
  waiter.join();
  return 0;
}

}  // namespace snapvol::csi
