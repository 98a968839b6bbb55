#include "driver/csi/volume_attributes.h"

#include <charconv>

#include "driver/core/duration.h"
#include "driver/core/names.h"

namespace snapvol::csi {

using core::Result;
using core::Status;

namespace {

bool IsKubernetesKey(const std::string& key) { return key.rfind("csi.storage.k8s.io/", 0) == 0; }

Result<uint64_t> ParseUint(const std::string& text, const std::string& what) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(what + ": '" + text + "' is not a non-negative integer");
  }
  return v;
}

const std::string* Find(const Attributes& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

}  // namespace

Result<bool> ParseBool(const std::string& text, const std::string& what) {
  if (text == "true" || text == "True" || text == "1" || text == "yes") return true;
  if (text == "false" || text == "False" || text == "0" || text == "no" || text.empty()) {
    return false;
  }
  return Status::InvalidArgument(what + ": '" + text + "' is not true or false");
}

Result<std::chrono::milliseconds> ParseDuration(const std::string& text, const std::string& what) {
  Result<std::chrono::milliseconds> d =
      core::ParseDuration(text, core::DurationSyntax{.bare_number_is_seconds = true});
  if (!d.ok()) return Status::InvalidArgument(what + ": " + d.status().message());
  return d;
}

Result<CreateParameters> ParseCreateParameters(const Attributes& params,
                                               const std::string& subject) {
  CreateParameters out;
  bool from_namespace = false;
  for (const auto& [key, value] : params) {
    if (key == kAttrEnvironment) {
      RETURN_IF_ERROR(core::ValidateName("environment", value).Annotate(subject));
      out.environment = value;
    } else if (key == kAttrEnvironmentFromNamespace) {
      ASSIGN_OR_RETURN(from_namespace, ParseBool(value, subject + ": parameter " + key));
    } else if (key == kAttrInodeLimit) {
      ASSIGN_OR_RETURN(uint64_t limit, ParseUint(value, subject + ": parameter " + key));
      if (limit == 0)
        return Status::InvalidArgument(subject + ": parameter inodeLimit must be > 0");
      out.inode_limit = limit;
    } else if (key == kAttrCommitInterval) {
      RETURN_IF_ERROR(ParseDuration(value, subject + ": parameter " + key).status());
      out.commit_interval = value;
    } else if (!IsKubernetesKey(key)) {
      return Status::InvalidArgument(subject + ": unknown StorageClass parameter '" + key +
                                     "' (known: environment, environmentFromNamespace, "
                                     "inodeLimit, commitInterval)");
    }
  }
  if (from_namespace) {
    if (params.count(kAttrEnvironment)) {
      return Status::InvalidArgument(subject +
                                     ": parameters environment and environmentFromNamespace "
                                     "exclude each other");
    }
    const std::string* ns = Find(params, kPvcNamespace);
    if (!ns || ns->empty()) {
      return Status::InvalidArgument(
          subject + ": environmentFromNamespace needs the PVC namespace (" + kPvcNamespace +
          "); run csi-provisioner with --extra-create-metadata");
    }
    RETURN_IF_ERROR(core::ValidateName("environment", *ns).Annotate(subject));
    out.environment = *ns;
  }
  return out;
}

Result<PublishAttributes> ParsePublishAttributes(const Attributes& ctx,
                                                 const std::string& subject) {
  PublishAttributes out;
  bool from_namespace = false;
  for (const auto& [key, value] : ctx) {
    std::string what = subject + ": volume attribute " + key;
    if (key == kAttrName) {
      out.name = value;
    } else if (key == kAttrEnvironment) {
      out.environment = value;
    } else if (key == kAttrEnvironmentFromNamespace) {
      ASSIGN_OR_RETURN(from_namespace, ParseBool(value, what));
    } else if (key == kAttrCreateIfMissing) {
      ASSIGN_OR_RETURN(out.create_if_missing, ParseBool(value, what));
    } else if (key == kAttrCommitInterval) {
      ASSIGN_OR_RETURN(out.commit_interval, ParseDuration(value, what));
    } else if (key == kAttrVersion) {
      ASSIGN_OR_RETURN(uint64_t v, ParseUint(value, what));
      if (v == 0) return Status::InvalidArgument(what + ": versions start at 1");
      out.version = v;
    } else if (key == kAttrReadOnly) {
      ASSIGN_OR_RETURN(out.read_only, ParseBool(value, what));
    } else if (key == kEphemeral) {
      ASSIGN_OR_RETURN(out.ephemeral, ParseBool(value, what));
    } else if (key == kPodName) {
      out.pod_name = value;
    } else if (key == kPodNamespace) {
      out.pod_namespace = value;
    } else if (key == kPodUid) {
      out.pod_uid = value;
    } else if (key == kAttrInodeLimit) {
      ASSIGN_OR_RETURN(uint64_t v, ParseUint(value, what));
      if (v == 0) return Status::InvalidArgument(what + ": must be > 0");
      out.inode_limit = v;
    } else if (key.find('/') == std::string::npos) {
      return Status::InvalidArgument(subject + ": unknown volume attribute '" + key +
                                     "' (known: name, environment, environmentFromNamespace, "
                                     "createIfMissing, commitInterval, version, readOnly)");
    }
  }
  if (from_namespace) {
    if (ctx.count(kAttrEnvironment)) {
      return Status::InvalidArgument(subject +
                                     ": attributes environment and environmentFromNamespace "
                                     "exclude each other");
    }
    if (out.pod_namespace.empty()) {
      return Status::InvalidArgument(subject +
                                     ": environmentFromNamespace needs the pod namespace; set "
                                     "podInfoOnMount: true in the CSIDriver object");
    }
    out.environment = out.pod_namespace;
  }
  if (out.ephemeral) {
    if (out.name.empty()) {
      return Status::InvalidArgument(subject +
                                     ": an inline ephemeral snapvol volume must name its volume "
                                     "(volumeAttributes.name)");
    }
    // The pod's namespace (kubelet sets it, podInfoOnMount: true, and its
    // keys override the pod's own attributes). Whether the pod may name
    // another environment is the tenancy policy's decision (tenancy.h).
    if (out.pod_namespace.empty()) {
      return Status::FailedPrecondition(
          subject + ": an inline snapvol volume needs the pod's namespace (" + kPodNamespace +
          "); set podInfoOnMount: true in the CSIDriver object");
    }
    if (out.environment.empty()) out.environment = out.pod_namespace;
  }
  if (!out.name.empty()) RETURN_IF_ERROR(core::ValidateName("volume", out.name).Annotate(subject));
  if (!out.environment.empty()) {
    RETURN_IF_ERROR(core::ValidateName("environment", out.environment).Annotate(subject));
  }
  if (out.version) out.read_only = true;
  return out;
}

}  // namespace snapvol::csi
