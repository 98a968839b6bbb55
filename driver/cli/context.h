// Context: what every command needs — the global options, the store and
// engine (opened on first use), and the name checks and messages that make
// every error name the environment, volume and path involved.
//
// Error convention: command handlers return a Status whose message is the
// complete user-facing text (without the "snapvol: " prefix). Run() maps it
// to an exit code with ExitCodeFor(): InvalidArgument is a usage error (2),
// everything else an operation failure (1).
#pragma once

#include <memory>
#include <string>

#include "driver/core/result.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"

namespace snapvol::cli {

using core::Result;
using core::Status;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

int ExitCodeFor(const Status& status);

// A usage error (exit 2).
inline Status UsageError(std::string message) {
  return Status::InvalidArgument(std::move(message));
}

struct GlobalOptions {
  std::string env;    // empty = "main"
  std::string store;  // empty = DefaultStoreSpec()
  bool json = false;
};

class Context {
 public:
  explicit Context(GlobalOptions options);
  ~Context();

  const std::string& env_name() const { return env_; }
  const std::string& store_spec() const { return store_spec_; }
  bool json() const { return json_; }

  // Opens the store on first use. Errors name the store.
  Result<volume::Engine*> engine();
  // Before the first engine(): open even a store whose catalog is missing
  // (store::OpenStore's allow_missing_catalog), to rebuild it.
  void AllowMissingCatalog() { allow_missing_catalog_ = true; }

  // Validates the environment name (usage error with the allowed pattern)
  // and checks that the environment exists (NotFound naming it).
  Status CheckEnvironment();

  // CheckEnvironment, validates `name`, and returns the volume; NotFound
  // "volume 'x' in environment 'e' not found".
  Result<store::VolumeRecord> OpenVolume(const std::string& name);

  // "volume 'x' in environment 'e'".
  std::string Where(const std::string& volume) const;

  // Prefixes `where` to the status's message unless the message already
  // names it; the code is kept.
  static Status InContext(const Status& status, const std::string& where);

  // Asks "Really `action`? [y/N] " on stderr and reads the answer from
  // stdin. With `yes`, returns ok without asking. When stdin is not a
  // terminal, returns a usage error telling the user to pass -y; an answer
  // other than yes is FailedPrecondition ("aborted").
  Status Confirm(const std::string& action, bool yes);

 private:
  std::string env_;
  std::string store_spec_;
  bool json_;
  bool allow_missing_catalog_ = false;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
};

}  // namespace snapvol::cli
