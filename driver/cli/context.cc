#include "driver/cli/context.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "driver/cli/store_spec.h"
#include "driver/core/names.h"
#include "driver/core/text.h"

namespace snapvol::cli {

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  return status.Is(core::Code::kInvalidArgument) ? kExitUsage : kExitFailed;
}

Context::Context(GlobalOptions options)
    : env_(options.env.empty() ? store::kDefaultEnvironment : options.env),
      store_spec_(options.store.empty() ? DefaultStoreSpec() : options.store),
      json_(options.json) {}

Context::~Context() = default;

Result<volume::Engine*> Context::engine() {
  if (engine_ != nullptr) return engine_.get();
  auto opened = store::OpenStore(store_spec_, core::Env::Default(), allow_missing_catalog_);
  if (!opened.ok()) {
    return InContext(opened.status(), "cannot open store '" + store_spec_ + "'");
  }
  store_ = std::move(opened).value();
  for (const std::string& w : store_->warnings) {
    std::fprintf(stderr, "snapvol: warning: %s\n", core::EscapeBytes(w).c_str());
  }
  engine_ = std::make_unique<volume::Engine>(store_.get(), core::Env::Default());
  return engine_.get();
}

std::string Context::Where(const std::string& volume) const {
  return "volume '" + volume + "' in environment '" + env_ + "'";
}

Status Context::InContext(const Status& status, const std::string& where) {
  if (status.ok() || status.message().find(where) != std::string::npos) return status;
  return status.Annotate(where);
}

Status Context::CheckEnvironment() {
  RETURN_IF_ERROR(core::ValidateName("environment", env_));
  ASSIGN_OR_RETURN(volume::Engine * eng, engine());
  auto exists = eng->store().catalog->EnvironmentExists(env_);
  if (!exists.ok()) return InContext(exists.status(), "environment '" + env_ + "'");
  if (!*exists) {
    return Status::NotFound("environment '" + env_ +
                            "' not found (create it with `snapvol environment create " + env_ +
                            "`)");
  }
  return Status::Ok();
}

Result<store::VolumeRecord> Context::OpenVolume(const std::string& name) {
  RETURN_IF_ERROR(core::ValidateName("environment", env_));
  RETURN_IF_ERROR(core::ValidateName("volume", name));
  RETURN_IF_ERROR(CheckEnvironment());
  ASSIGN_OR_RETURN(volume::Engine * eng, engine());
  auto vol = eng->GetVolume(env_, name);
  if (!vol.ok()) {
    if (vol.status().Is(core::Code::kNotFound)) {
      return Status::NotFound(Where(name) + " not found");
    }
    return InContext(vol.status(), Where(name));
  }
  return vol;
}

Status Context::Confirm(const std::string& action, bool yes) {
  if (yes) return Status::Ok();
  if (::isatty(STDIN_FILENO) != 1) {
    return UsageError("refusing to " + action +
                      " without confirmation: stdin is not a terminal (pass -y to confirm)");
  }
  std::fprintf(stderr, "Really %s? [y/N] ", action.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) answer.clear();
  if (answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes") {
    return Status::Ok();
  }
  return Status::FailedPrecondition("aborted; nothing was deleted");
}

}  // namespace snapvol::cli
