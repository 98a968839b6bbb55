// Which environments Kubernetes namespaces reach through inline (ephemeral)
// volumes. A pod author writes an inline volume's attributes, so they are
// untrusted: by default an inline volume's environment is the pod's own
// namespace and nothing else. Anything wider is the cluster admin's
// decision, made in the driver's tenancy file (--tenancy-config), never in a
// pod. Persistent volumes need no policy: their environment comes from the
// StorageClass or PersistentVolume, which only an admin writes.
// docs/kubernetes.md, "Tenancy", states the model.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "driver/core/result.h"

namespace snapvol::csi {

// The tenancy file, YAML:
//
//   inlineVolumes:
//     ml-team:                       # pods in namespace ml-team
//       environments: [models]      # may also use environment "models"
//       createIfMissing: false      # may not create volumes (default true)
//     "*":                          # every namespace
//       environments: [public]
//
// A namespace always reaches the environment named like it. A pod creates
// an environment only that one (createIfMissing); other environments must
// exist already (an admin creates them).
class TenancyPolicy {
 public:
  struct Rule {
    std::set<std::string> environments;
    std::optional<bool> create_if_missing;
  };

  // The default: each namespace reaches its own environment only.
  TenancyPolicy() = default;
  // Parses the YAML text of the tenancy file; errors name `source`, line and
  // column (InvalidArgument).
  static core::Result<TenancyPolicy> Parse(const std::string& yaml, const std::string& source);
  static core::Result<TenancyPolicy> Load(const std::string& path);

  // Ok if pods of `pod_namespace` may mount volumes of `environment` inline
  // (and, with `create`, create a missing volume there); PermissionDenied
  // saying what an admin would have to allow otherwise.
  core::Status CheckInline(const std::string& pod_namespace, const std::string& environment,
                           bool create) const;
  // Whether an inline volume of `pod_namespace` may create `environment`.
  static bool MayCreateEnvironment(const std::string& pod_namespace,
                                   const std::string& environment) {
    return pod_namespace == environment;
  }

 private:
  std::map<std::string, Rule> rules_;  // namespace (or "*") -> rule
};

}  // namespace snapvol::csi
