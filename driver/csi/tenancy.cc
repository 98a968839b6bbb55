#include "driver/csi/tenancy.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "driver/core/names.h"

namespace snapvol::csi {
namespace {

using core::Status;

constexpr char kAllNamespaces[] = "*";

Status At(const std::string& source, const YAML::Node& node, const std::string& what) {
  const YAML::Mark m = node.Mark();
  return Status::InvalidArgument(source + ":" + std::to_string(m.line + 1) + ":" +
                                 std::to_string(m.column + 1) + ": " + what);
}

core::Result<std::string> ScalarName(const std::string& source, const YAML::Node& node,
                                     const std::string& what) {
  if (!node.IsScalar()) return At(source, node, what + " must be a name");
  const std::string text = node.Scalar();
  if (Status s = core::ValidateName(what, text); !s.ok()) return At(source, node, s.message());
  return text;
}

core::Result<TenancyPolicy::Rule> ParseRule(const std::string& source, const YAML::Node& node) {
  TenancyPolicy::Rule rule;
  if (node.IsNull()) return rule;
  if (!node.IsMap()) return At(source, node, "a namespace's rule must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (key == "environments") {
      if (!kv.second.IsSequence()) {
        return At(source, kv.second, "environments must be a list of environment names");
      }
      for (const YAML::Node& e : kv.second) {
        ASSIGN_OR_RETURN(std::string env, ScalarName(source, e, "environment"));
        rule.environments.insert(env);
      }
    } else if (key == "createIfMissing") {
      bool value = false;
      if (!kv.second.IsScalar() || !YAML::convert<bool>::decode(kv.second, value)) {
        return At(source, kv.second, "createIfMissing must be true or false");
      }
      rule.create_if_missing = value;
    } else {
      return At(source, kv.first,
                "unknown key '" + key + "' (known: environments, createIfMissing)");
    }
  }
  return rule;
}

}  // namespace

core::Result<TenancyPolicy> TenancyPolicy::Parse(const std::string& yaml,
                                                 const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  TenancyPolicy policy;
  if (root.IsNull()) return policy;
  if (!root.IsMap()) return At(source, root, "the tenancy file must be a mapping");
  for (const auto& top : root) {
    const std::string key = top.first.IsScalar() ? top.first.Scalar() : "";
    if (key != "inlineVolumes") {
      return At(source, top.first, "unknown key '" + key + "' (known: inlineVolumes)");
    }
    if (top.second.IsNull()) continue;
    if (!top.second.IsMap()) {
      return At(source, top.second, "inlineVolumes must map namespaces to rules");
    }
    for (const auto& ns : top.second) {
      std::string name;
      if (ns.first.IsScalar() && ns.first.Scalar() == kAllNamespaces) {
        name = kAllNamespaces;
      } else {
        ASSIGN_OR_RETURN(name, ScalarName(source, ns.first, "namespace"));
      }
      if (policy.rules_.count(name) != 0) {
        return At(source, ns.first, "namespace '" + name + "' appears twice");
      }
      ASSIGN_OR_RETURN(Rule rule, ParseRule(source, ns.second));
      policy.rules_.emplace(name, std::move(rule));
    }
  }
  return policy;
}

core::Result<TenancyPolicy> TenancyPolicy::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::FromErrno(errno, "cannot read the tenancy file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

Status TenancyPolicy::CheckInline(const std::string& pod_namespace, const std::string& environment,
                                  bool create) const {
  const Rule* own = nullptr;
  const Rule* all = nullptr;
  if (auto it = rules_.find(pod_namespace); it != rules_.end()) own = &it->second;
  if (auto it = rules_.find(kAllNamespaces); it != rules_.end()) all = &it->second;
  const auto lists = [&](const Rule* r) {
    return r != nullptr && r->environments.count(environment);
  };
  if (environment != pod_namespace && !lists(own) && !lists(all)) {
    return Status::PermissionDenied(
        "pods in namespace '" + pod_namespace + "' may not use environment '" + environment +
        "' in an inline volume: an inline volume's environment is the pod's namespace unless the "
        "driver's tenancy file (--tenancy-config) lists it for that namespace");
  }
  if (create) {
    std::optional<bool> allowed;
    if (own != nullptr) allowed = own->create_if_missing;
    if (!allowed && all != nullptr) allowed = all->create_if_missing;
    if (!allowed.value_or(true)) {
      return Status::PermissionDenied("pods in namespace '" + pod_namespace +
                                      "' may not create volumes (createIfMissing) by the "
                                      "driver's tenancy file");
    }
  }
  return Status::Ok();
}

}  // namespace snapvol::csi
