// The key/value maps snapvol reads from Kubernetes: StorageClass parameters
// (CreateVolume) and volume attributes (NodePublishVolume volume_context,
// from CreateVolume's answer, a static PersistentVolume or an inline
// ephemeral volume). Keys are documented in docs/kubernetes.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "driver/core/result.h"

namespace snapvol::csi {

using Attributes = std::map<std::string, std::string>;

// Keys. Everything under "csi.storage.k8s.io/" is set by Kubernetes.
inline constexpr char kAttrName[] = "name";
inline constexpr char kAttrEnvironment[] = "environment";
inline constexpr char kAttrEnvironmentFromNamespace[] = "environmentFromNamespace";
inline constexpr char kAttrCreateIfMissing[] = "createIfMissing";
inline constexpr char kAttrCommitInterval[] = "commitInterval";
inline constexpr char kAttrVersion[] = "version";
inline constexpr char kAttrReadOnly[] = "readOnly";
inline constexpr char kAttrInodeLimit[] = "inodeLimit";
inline constexpr char kPvcNamespace[] = "csi.storage.k8s.io/pvc/namespace";
inline constexpr char kPodName[] = "csi.storage.k8s.io/pod.name";
inline constexpr char kPodNamespace[] = "csi.storage.k8s.io/pod.namespace";
inline constexpr char kPodUid[] = "csi.storage.k8s.io/pod.uid";
inline constexpr char kEphemeral[] = "csi.storage.k8s.io/ephemeral";

// StorageClass parameters of a CreateVolume request.
struct CreateParameters {
  std::string environment = "main";
  std::optional<uint64_t> inode_limit;
  std::optional<std::string> commit_interval;  // passed on in the volume context
};

// Accepts `environment`, `environmentFromNamespace: "true"` (the environment
// is the PVC's namespace, which csi-provisioner --extra-create-metadata
// passes), `inodeLimit`, `commitInterval` and any "csi.storage.k8s.io/" key.
// InvalidArgument naming the key for anything else, for both environment
// keys at once, or for environmentFromNamespace without the namespace.
// `subject` ("volume 'pvc-1'") starts every message.
core::Result<CreateParameters> ParseCreateParameters(const Attributes& params,
                                                     const std::string& subject);

// What a NodePublishVolume needs to know beyond the volume id.
struct PublishAttributes {
  bool ephemeral = false;
  std::string environment;  // set for ephemeral volumes; persistent use the id
  std::string name;         // same
  bool create_if_missing = false;
  std::optional<std::chrono::milliseconds> commit_interval;
  std::optional<uint64_t> version;  // pin the mount to this version (read-only)
  bool read_only = false;
  std::optional<uint64_t> inode_limit;  // for a volume createIfMissing creates
  std::string pod_name, pod_namespace, pod_uid;
};

// Parses a volume context. An ephemeral inline volume
// (csi.storage.k8s.io/ephemeral: "true") must name its volume (`name`) and
// carry the pod's namespace (FailedPrecondition otherwise); its environment
// is `environment` if set, else the pod's namespace (`environmentFromNamespace:
// "true"` says so explicitly). Whether the pod may use that environment is
// checked by the caller against the TenancyPolicy. Keys without a '/' that snapvol does not know
// are refused, so typos in hand-written attributes do not pass silently; namespaced keys
// (kubelet's) are ignored.
core::Result<PublishAttributes> ParsePublishAttributes(const Attributes& context,
                                                       const std::string& subject);

// "5s", "500ms", "2m", "1h", "0" or plain seconds ("10"). InvalidArgument
// otherwise.
core::Result<std::chrono::milliseconds> ParseDuration(const std::string& text,
                                                      const std::string& what);

// "true"/"false" (also "1"/"0", "yes"/"no"); InvalidArgument otherwise.
core::Result<bool> ParseBool(const std::string& text, const std::string& what);

}  // namespace snapvol::csi
