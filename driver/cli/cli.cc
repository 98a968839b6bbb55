#include "driver/cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "driver/cli/context.h"
#include "driver/cli/environment_commands.h"
#include "driver/cli/mount_commands.h"
#include "driver/cli/store_commands.h"
#include "driver/cli/suggest.h"
#include "driver/cli/volume_commands.h"
#include "driver/core/names.h"
#include "driver/core/text.h"

namespace snapvol::cli {
namespace {

constexpr const char* kFooter =
    R"(Names of volumes and environments match ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$.
Exit codes: 0 ok, 1 operation failed, 2 usage error.

Examples:
  snapvol volume create models
  snapvol volume put models ./weights/ /        # the directory's contents into /
  snapvol volume put models model.bin /v1/      # -> /v1/model.bin
  snapvol volume ls models /v1
  snapvol volume get models /v1 ./restore       # -> ./restore/v1 if ./restore exists
  snapvol volume get models /v1/model.bin - | sha256sum
  snapvol volume log models
  snapvol mount models /mnt/models              # returns once mounted; writes stay private
  snapvol commit /mnt/models                    # publish them as a new version
  snapvol reload /mnt/models                    # show other mounts' commits
  snapvol unmount /mnt/models                   # final commit, then unmount)";

// Everything the parser fills in; outlives the parse so the chosen
// command's closure can read it.
struct Args {
  GlobalOptions global;
  std::string vol, vol2, path, local;
  std::vector<std::string> paths;
  uint64_t inode_limit = store::kDefaultInodeLimit;
  bool yes = false, force = false, recursive = false, same_owner = false, quick = false,
       repair = false;
  size_t limit = 0;
  uint64_t version = 0;
};

bool ContainsNoCase(const std::string& haystack, const std::string& needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != haystack.end();
}

void PrintError(const Status& st) {
  // Messages quote names from volumes and local directories: escaped.
  std::string msg = core::EscapeBytes(st.message());
  if (st.Is(core::Code::kCorruption) && !ContainsNoCase(msg, "corrupt")) {
    msg += " (corrupt data in the store)";
  }
  if (st.Is(core::Code::kInvalidArgument) && !ContainsNoCase(msg, "--help")) {
    msg += "\nRun with --help for more information.";
  }
  std::fprintf(stderr, "snapvol: %s\n", msg.c_str());
}

using Action = std::function<Status(Context&)>;

void AddVolumeCommands(CLI::App& app, Args& a, Action& action) {
  CLI::App* vol = app.add_subcommand("volume", "Create, fill, read and inspect volumes");
  vol->require_subcommand(1);
  vol->alias("vol");

  CLI::App* c = vol->add_subcommand("create", "Create an empty volume (version 0)");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("--inode-limit", a.inode_limit,
                "maximum files + directories + symlinks (default 10000000)");
  c->callback(
      [&] { action = [&](Context& ctx) { return VolumeCreate(ctx, a.vol, a.inode_limit); }; });

  c = vol->add_subcommand("delete", "Delete a volume and all its versions");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_flag("-y,--yes", a.yes, "do not ask for confirmation");
  c->add_flag("--force", a.force,
              "delete even if it is mounted or a crashed mount's changes are not recovered");
  c->callback(
      [&] { action = [&](Context& ctx) { return VolumeDelete(ctx, a.vol, a.yes, a.force); }; });

  c = vol->add_subcommand("list", "List the volumes of the environment");
  c->callback([&] { action = [&](Context& ctx) { return VolumeList(ctx); }; });

  c = vol->add_subcommand("ls", "List a directory of a volume (type, size, mtime, name)");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("PATH", a.path, "directory or file in the volume (default /)");
  c->callback([&] { action = [&](Context& ctx) { return VolumeLs(ctx, a.vol, a.path); }; });

  c = vol->add_subcommand("put", "Upload a local file or directory as one new version");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("LOCAL", a.local, "local file or directory ('-' reads stdin)")->required();
  c->add_option("REMOTE", a.path,
                "destination in the volume (default /; a trailing / appends LOCAL's name)");
  c->add_flag("-f,--force", a.force, "overwrite existing files in the volume");
  c->callback([&] {
    action = [&](Context& ctx) {
      return VolumePut(ctx, a.vol, PutRequest{a.local, a.path, a.force});
    };
  });

  c = vol->add_subcommand("get", "Download a file or directory from the latest version");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("REMOTE", a.path, "file or directory in the volume")->required();
  c->add_option("LOCAL", a.local,
                "destination (default .; an existing directory receives the item; '-' streams "
                "a file to stdout)");
  c->add_flag("-f,--force", a.force, "overwrite existing local files");
  c->add_flag("--same-owner", a.same_owner,
              "restore stored owners and set-uid/set-gid bits (needs root; default: items are "
              "owned by you and set-uid/set-gid bits are dropped)");
  c->callback([&] {
    action = [&](Context& ctx) {
      return VolumeGet(ctx, a.vol, GetRequest{a.path, a.local, a.force, a.same_owner});
    };
  });

  c = vol->add_subcommand("rm", "Remove a file or directory (one new version)");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("PATH", a.path, "path in the volume")->required();
  c->add_flag("-r,--recursive", a.recursive, "remove a non-empty directory and its contents");
  c->callback(
      [&] { action = [&](Context& ctx) { return VolumeRm(ctx, a.vol, a.path, a.recursive); }; });

  c = vol->add_subcommand("cp", "Copy files or directories within a volume (one new version)");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("SRC... DST", a.paths, "sources, then the destination")->required();
  c->add_flag("-r,--recursive", a.recursive, "accepted for compatibility; directories always copy");
  c->add_flag("-f,--force", a.force, "overwrite existing files");
  c->callback(
      [&] { action = [&](Context& ctx) { return VolumeCp(ctx, a.vol, a.paths, a.force); }; });

  c = vol->add_subcommand("rename", "Rename a volume");
  c->add_option("OLD", a.vol, "current name")->required();
  c->add_option("NEW", a.vol2, "new name")->required();
  c->callback([&] { action = [&](Context& ctx) { return VolumeRename(ctx, a.vol, a.vol2); }; });

  c = vol->add_subcommand("log", "Show the versions of a volume, newest first");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("-n,--limit", a.limit, "show at most N versions");
  c->callback([&] { action = [&](Context& ctx) { return VolumeLog(ctx, a.vol, a.limit); }; });

  c = vol->add_subcommand("rollback",
                          "Commit an earlier version's content as the newest version (O(1); "
                          "nothing is deleted)");
  c->add_option("VOL", a.vol, "volume name")->required();
  c->add_option("VERSION", a.version, "the version to go back to (0: empty)")->required();
  c->callback(
      [&] { action = [&](Context& ctx) { return VolumeRollback(ctx, a.vol, a.version); }; });
}

void AddEnvironmentCommands(CLI::App& app, Args& a, Action& action) {
  CLI::App* env = app.add_subcommand("environment", "Manage environments (volume namespaces)");
  env->require_subcommand(1);
  env->alias("env");

  CLI::App* c = env->add_subcommand("create", "Create an environment");
  c->add_option("ENV", a.vol, "environment name")->required();
  c->callback([&] { action = [&](Context& ctx) { return EnvironmentCreate(ctx, a.vol); }; });

  c = env->add_subcommand("list", "List environments");
  c->callback([&] { action = [&](Context& ctx) { return EnvironmentList(ctx); }; });

  c = env->add_subcommand("delete", "Delete an environment");
  c->add_option("ENV", a.vol, "environment name")->required();
  c->add_flag("-y,--yes", a.yes, "do not ask for confirmation");
  c->add_flag("--force", a.force, "also delete the volumes it holds");
  c->callback([&] {
    action = [&](Context& ctx) { return EnvironmentDelete(ctx, a.vol, a.yes, a.force); };
  });
}

void AddStoreCommands(CLI::App& app, Args& a, Action& action) {
  CLI::App* store = app.add_subcommand("store", "Check the store as a whole");
  store->require_subcommand(1);
  CLI::App* c = store->add_subcommand(
      "fsck", "Check every version of every volume down to each chunk; exit 1 on any problem");
  c->add_flag("--quick", a.quick, "check that chunks exist without reading them");
  c->add_flag("--repair", a.repair,
              "first rebuild a missing or empty catalog from the commit objects");
  c->callback([&] {
    action = [&](Context& ctx) {
      return a.repair ? StoreRepair(ctx, a.quick) : StoreFsck(ctx, a.quick);
    };
  });
}

// A parse error as every other error is printed ("snapvol: ..."), naming
// the command: an unknown word where a command was expected gets the
// nearest commands as suggestions, a command group without its command
// prints the group's help. Help and --version go through CLI11 (exit 0).
int ReportParseError(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return app.exit(e) == 0 ? kExitOk : kExitUsage;
  std::vector<CLI::App*> chain = {&app};
  for (;;) {
    std::vector<CLI::App*> parsed = chain.back()->get_subcommands();
    if (parsed.empty()) break;
    chain.push_back(parsed.front());
  }
  std::string path = "snapvol";
  for (size_t i = 1; i < chain.size(); ++i) path += " " + chain[i]->get_name();
  CLI::App* deepest = chain.back();
  const bool wants_command = deepest->get_require_subcommand_min() > 0;
  if (wants_command) {
    std::string typed;
    for (const std::string& w : app.remaining(true)) {
      if (!w.empty() && w[0] != '-') {
        typed = w;
        break;
      }
    }
    std::vector<std::string> names;
    for (const CLI::App* sub : deepest->get_subcommands([](CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
      for (const std::string& alias : sub->get_aliases()) names.push_back(alias);
    }
    if (!typed.empty()) {
      // "volume " before the words of the group the command was typed in.
      const std::string group = path.size() > 7 ? path.substr(8) + " " : "";
      std::string msg = "snapvol: unknown command '" + group + core::EscapeBytes(typed) + "'";
      std::vector<std::string> near = Suggest(typed, names);
      for (size_t i = 0; i < near.size(); ++i) {
        msg += (i == 0                 ? "; did you mean '"
                : i + 1 == near.size() ? "' or '"
                                       : "', '") +
               group + near[i];
      }
      if (!near.empty()) msg += "'?";
      std::fprintf(stderr, "%s\nRun '%s --help' for the commands.\n", msg.c_str(), path.c_str());
      return kExitUsage;
    }
    std::fprintf(stderr, "snapvol: '%s' needs a command.\n\n%s", path.c_str(),
                 deepest->help().c_str());
    return kExitUsage;
  }
  std::fprintf(stderr, "snapvol: %s\nRun '%s --help' for usage.\n",
               core::EscapeBytes(e.what()).c_str(), path.c_str());
  return kExitUsage;
}

int RunParsed(int argc, char** argv) {
  Args a;
  Action action;
  CLI::App app{"snapvol: snapshot volumes for containers", "snapvol"};
  app.footer(kFooter);
  app.fallthrough();  // global options may follow the subcommands
  app.require_subcommand(1);
  app.set_version_flag("--version", "snapvol 0.1.0");
  app.add_option("-e,--env", a.global.env,
                 "environment of the volume (env SNAPVOL_ENV; default main)")
      ->envname("SNAPVOL_ENV");
  app.add_option("--store", a.global.store,
                 "store directory (env SNAPVOL_STORE; default /var/lib/snapvol as root, "
                 "$XDG_DATA_HOME/snapvol otherwise)")
      ->envname("SNAPVOL_STORE");
  app.add_flag("--json", a.global.json,
               "print listings (list, ls, log), status and recover as JSON");
  AddVolumeCommands(app, a, action);
  AddEnvironmentCommands(app, a, action);
  AddStoreCommands(app, a, action);
  AddMountCommands(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(app, e);
  }
  if (!action) return kExitUsage;

  Context ctx(a.global);
  Status st = action(ctx);
  std::cout.flush();
  if (std::fflush(stdout) != 0 && st.ok()) {
    st = Status::FromErrno(errno, "cannot write to stdout");
  }
  if (!st.ok()) PrintError(st);
  return ExitCodeFor(st);
}

}  // namespace

int Run(int argc, char** argv) {
  // The CLI is the outermost adapter: library exceptions (CLI11, JSON,
  // std::bad_alloc) stop here and become an exit code.
  try {
    return RunParsed(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "snapvol: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "snapvol: internal error\n");
  }
  return kExitFailed;
}

}  // namespace snapvol::cli
