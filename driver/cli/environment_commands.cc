#include "driver/cli/environment_commands.h"

#include <cstdio>
#include <iostream>

#include "driver/cli/format.h"
#include "driver/core/names.h"

namespace snapvol::cli {

namespace {
std::string Env(const std::string& name) { return "environment '" + name + "'"; }
}  // namespace

Status EnvironmentCreate(Context& ctx, const std::string& name) {
  RETURN_IF_ERROR(core::ValidateName("environment", name));
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  Status st = eng->CreateEnvironment(name);
  if (st.Is(core::Code::kAlreadyExists))
    return Status::AlreadyExists(Env(name) + " already exists");
  RETURN_IF_ERROR(Context::InContext(st, Env(name)));
  std::printf("Created %s.\n", Env(name).c_str());
  return Status::Ok();
}

Status EnvironmentList(Context& ctx) {
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto envs = eng->ListEnvironments();
  if (!envs.ok()) return Context::InContext(envs.status(), "store '" + ctx.store_spec() + "'");
  if (ctx.json()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *envs) {
      nlohmann::json j = EnvironmentJson(e);
      auto vols = eng->ListVolumes(e.name);
      if (vols.ok()) j["volumes"] = vols->size();
      out.push_back(std::move(j));
    }
    std::cout << DumpJson(out) << "\n";
    return Status::Ok();
  }
  size_t w = 4;
  for (const auto& e : *envs) w = std::max(w, e.name.size());
  std::printf("%-*s  %-19s  %7s\n", static_cast<int>(w), "NAME", "CREATED", "VOLUMES");
  for (const auto& e : *envs) {
    auto vols = eng->ListVolumes(e.name);
    std::string count = vols.ok() ? std::to_string(vols->size()) : "?";
    std::printf("%-*s  %-19s  %7s\n", static_cast<int>(w), e.name.c_str(),
                LocalTime(e.created_ns).c_str(), count.c_str());
  }
  return Status::Ok();
}

Status EnvironmentDelete(Context& ctx, const std::string& name, bool yes, bool force) {
  RETURN_IF_ERROR(core::ValidateName("environment", name));
  if (name == store::kDefaultEnvironment) {
    return Status::FailedPrecondition("the default environment 'main' cannot be deleted");
  }
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto exists = eng->store().catalog->EnvironmentExists(name);
  if (!exists.ok()) return Context::InContext(exists.status(), Env(name));
  if (!*exists) return Status::NotFound(Env(name) + " not found");
  auto vols = eng->ListVolumes(name);
  if (!vols.ok()) return Context::InContext(vols.status(), Env(name));
  if (!vols->empty() && !force) {
    std::string names;
    for (size_t i = 0; i < vols->size() && i < 5; ++i) {
      names += (i ? ", " : "") + (*vols)[i].name;
    }
    if (vols->size() > 5) names += ", ...";
    return Status::FailedPrecondition(Env(name) + " still holds " + std::to_string(vols->size()) +
                                      " volume(s) (" + names +
                                      "); delete them first, or pass --force to delete them too");
  }
  std::string action = "delete " + Env(name);
  if (!vols->empty()) {
    action += " and its " + std::to_string(vols->size()) + " volume(s) with all their versions";
  }
  RETURN_IF_ERROR(ctx.Confirm(action, yes));
  Status st = eng->DeleteEnvironment(name, force);
  if (st.Is(core::Code::kNotFound)) return Status::NotFound(Env(name) + " not found");
  RETURN_IF_ERROR(Context::InContext(st, Env(name)));
  std::printf("Deleted %s.\n", Env(name).c_str());
  return Status::Ok();
}

}  // namespace snapvol::cli
