#include "driver/cli/mount_commands.h"

#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "driver/cli/format.h"
#include "driver/cli/volume_commands.h"
#include "driver/core/duration.h"
#include "driver/core/names.h"
#include "driver/fs/control_json.h"
#include "driver/fs/mount.h"
#include "driver/fs/mount_inspect.h"
#include "driver/fs/recovery.h"

extern char** environ;

namespace snapvol::cli {
namespace {

// The mount layer reports a path that is not a snapvol mount (or not a
// directory) as InvalidArgument. For the CLI that is an operation on the
// wrong object, not a malformed command line: exit 1, not 2.
Status Failure(const Status& s) {
  if (!s.Is(core::Code::kInvalidArgument)) return s;
  return Status(core::Code::kFailedPrecondition, s.message(), s.sys_errno());
}

template <typename T>
Result<T> Failure(Result<T> r) {
  if (r.ok()) return r;
  return Failure(r.status());
}

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

std::string Absolute(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

bool IsDeadMount(const std::string& mountpoint) {
  return fs::InspectMount(mountpoint).presence == fs::MountPresence::kDead;
}

// The status of a live mount; a dead one is named as such.
Result<fs::MountStatus> LiveStatus(const std::string& mountpoint) {
  Result<fs::MountStatus> st = fs::StatusOf(mountpoint);
  if (!st.ok() && st.status().sys_errno() == ENOTCONN) {
    return fs::DeadMountError(Absolute(mountpoint));
  }
  if (!st.ok()) return Failure(st.status());
  return st;
}

std::string VolumeOf(const fs::MountStatus& st) {
  return "volume '" + st.volume + "' in environment '" + st.environment + "'";
}

std::string CommitSummary(const fs::CommitInfo& c) {
  std::string out = "committed version " + std::to_string(c.version) + " (" +
                    Plural(c.changes, "change", "changes") + ")";
  if (c.deferred > 0) {
    out += "; " + Plural(c.deferred, "file", "files") +
           " still being written left for the next commit";
  }
  return out;
}

void PrintStatusText(const fs::MountStatus& st) {
  std::string mode = st.read_only ? "read-only" : "read-write";
  if (st.pinned) mode += ", pinned with --version";
  std::string last = "none yet";
  if (st.has_last_commit) {
    const fs::CommitInfo& c = st.last_commit;
    if (!st.last_commit_ok) {
      last = "FAILED (" + c.trigger + "): " + st.last_commit_error;
    } else if (c.empty) {
      last = "nothing to commit (" + c.trigger + ", " + LocalTime(c.time_ns) + ")";
    } else {
      last = CommitSummary(c) + ", " + c.trigger + ", " + LocalTime(c.time_ns);
    }
  }
  std::string interval = FormatDuration(st.commit_interval_ms);
  if (st.commit_interval_ms > 0) interval = "every " + interval;
  std::printf("Mountpoint:   %s\n", st.mountpoint.c_str());
  std::printf("Volume:       %s (environment %s)\n", st.volume.c_str(), st.environment.c_str());
  std::printf("Version:      %llu (%s)\n", static_cast<unsigned long long>(st.version),
              mode.c_str());
  std::printf("Pending:      %s\n", Plural(st.pending, "change", "changes").c_str());
  std::printf("Last commit:  %s\n", last.c_str());
  std::printf("Background:   %s\n", st.read_only ? "off (read-only)" : interval.c_str());
  std::printf("Commits:      %llu, reloads: %llu\n", static_cast<unsigned long long>(st.commits),
              static_cast<unsigned long long>(st.reloads));
  std::printf("Inodes:       %llu of %llu\n", static_cast<unsigned long long>(st.inodes),
              static_cast<unsigned long long>(st.inode_limit));
  std::printf("Passthrough:  %s\n",
              st.passthrough
                  ? ("on, " + Plural(st.passthrough_opens, "open", "opens") + " of host copies (" +
                     Plural(st.file_cache_fills, "copy", "copies") + " made here)")
                        .c_str()
                  : (st.passthrough_accepted ? "not in use (accepted by the kernel)" : "off"));
  std::printf("Store:        %s\n", st.store.c_str());
  std::printf("Server:       pid %d, mount id %s, state in %s\n", st.pid, st.mount_id.c_str(),
              st.state_dir.c_str());
}

nlohmann::json RecoveredJson(const fs::RecoveredMount& m, bool detached) {
  nlohmann::json j{{"mount_id", m.mount_id},   {"environment", m.environment},
                   {"volume", m.volume},       {"mountpoint", m.mountpoint},
                   {"committed", m.committed}, {"detached", detached}};
  if (m.committed) {
    j["version"] = m.commit.version;
    j["changes"] = m.commit.changes;
    j["empty"] = m.commit.empty;
  } else {
    j["error"] = m.error;
  }
  return j;
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  Result<std::chrono::milliseconds> d = core::ParseDuration(text);
  if (!d.ok()) return UsageError(d.status().message());
  return d;
}

std::string FormatDuration(int64_t ms) { return core::FormatDuration(ms); }

Status MountCommand(Context& ctx, const MountRequest& r) {
  Result<std::chrono::milliseconds> interval = ParseDuration(r.commit_interval);
  if (!interval.ok()) return UsageError("--commit-interval: " + interval.status().message());
  if (r.version_given && r.version == 0) {
    return UsageError("--version must be 1 or more (version 0 is the empty volume)");
  }
  {
    // Checked here for the CLI's messages (names, "not found" with the
    // environment). A scoped Context: a foreground server must not keep
    // this process's first store connection open for its whole life.
    Context check(GlobalOptions{ctx.env_name(), ctx.store_spec(), ctx.json()});
    RETURN_IF_ERROR(check.OpenVolume(r.volume).status());
  }
  if (Result<fs::MountStatus> existing = fs::StatusOf(r.mountpoint); existing.ok()) {
    return Status::AlreadyExists("'" + existing->mountpoint + "' already holds a snapvol mount (" +
                                 VolumeOf(*existing) + "); unmount it first");
  }
  fs::MountOptions o;
  o.store = ctx.store_spec();
  o.environment = ctx.env_name();
  o.volume = r.volume;
  o.mountpoint = r.mountpoint;
  o.commit_interval = *interval;
  o.read_only = r.read_only || r.version_given;
  o.version = r.version;
  o.foreground = r.foreground;
  o.author_tool = "cli mount";
  if (r.foreground) {
    // fs::Mount execs the server in this process (run_mount_server.h prints
    // "Mounted ..." and "Unmounted ..."); it returns only if it could not.
    Status failed = fs::Mount(o);
    return Status(failed.code(), "serving " + ctx.Where(r.volume) + " at " +
                                     Quoted(Absolute(r.mountpoint)) + ": " + failed.message());
  }
  RETURN_IF_ERROR(Failure(fs::Mount(o)));
  ASSIGN_OR_RETURN(fs::MountStatus st, LiveStatus(r.mountpoint));
  std::string how = st.read_only ? "read-only" : "read-write, background commits ";
  if (!st.read_only) {
    how += st.commit_interval_ms > 0 ? "every " + FormatDuration(st.commit_interval_ms) : "off";
  }
  std::printf("Mounted %s at '%s' (version %llu, %s).\n", VolumeOf(st).c_str(),
              st.mountpoint.c_str(), static_cast<unsigned long long>(st.version), how.c_str());
  return Status::Ok();
}

Status UnmountCommand(Context&, const std::string& mountpoint) {
  fs::MountInspection found = fs::InspectMount(mountpoint);
  if (found.presence == fs::MountPresence::kDead) {
    const std::string mp = Absolute(mountpoint);
    RETURN_IF_ERROR(fs::DetachDeadMount(mp));
    std::printf(
        "Detached '%s': its mount server was gone. Run `snapvol recover` to commit what "
        "it left pending.\n",
        mp.c_str());
    return Status::Ok();
  }
  // Not live: LiveStatus says why, in the CLI's words.
  ASSIGN_OR_RETURN(fs::MountStatus st, found.presence == fs::MountPresence::kLive
                                           ? Result<fs::MountStatus>(std::move(found.status))
                                           : LiveStatus(mountpoint));
  // Committed here too so the version can be printed; fs::Unmount's own
  // commit then finds nothing (or only what was written meanwhile).
  Result<fs::CommitInfo> committed = fs::CommitInfo{};
  if (!st.read_only) committed = fs::CommitMount(st.mountpoint);
  RETURN_IF_ERROR(Failure(fs::Unmount(st.mountpoint)));
  std::string what;
  if (st.read_only) {
    what = "read-only";
  } else if (!committed.ok() || committed->empty) {
    what = committed.ok() ? "nothing to commit" : "changes committed";
  } else {
    what = CommitSummary(*committed);
  }
  std::printf("Unmounted '%s' (%s, %s).\n", st.mountpoint.c_str(), VolumeOf(st).c_str(),
              what.c_str());
  return Status::Ok();
}

Status CommitCommand(Context&, const std::string& mountpoint) {
  ASSIGN_OR_RETURN(fs::MountStatus st, LiveStatus(mountpoint));
  if (st.read_only) {
    return Status::FailedPrecondition("mount '" + st.mountpoint +
                                      "' is read-only; it has nothing to commit");
  }
  ASSIGN_OR_RETURN(fs::CommitInfo c, Failure(fs::CommitMount(st.mountpoint)));
  if (c.empty) {
    std::printf("Nothing to commit in '%s' (%s is at version %llu).\n", st.mountpoint.c_str(),
                VolumeOf(st).c_str(), static_cast<unsigned long long>(c.version));
  } else {
    std::string summary = CommitSummary(c);
    summary[0] = 'C';
    std::printf("%s of %s from '%s'.\n", summary.c_str(), VolumeOf(st).c_str(),
                st.mountpoint.c_str());
  }
  return Status::Ok();
}

Status ReloadCommand(Context&, const std::string& mountpoint) {
  ASSIGN_OR_RETURN(fs::MountStatus before, LiveStatus(mountpoint));
  if (before.pinned) {
    return Status::FailedPrecondition("mount '" + before.mountpoint + "' is pinned to version " +
                                      std::to_string(before.version) +
                                      " (--version) and cannot reload");
  }
  RETURN_IF_ERROR(Failure(fs::ReloadMount(before.mountpoint)));
  ASSIGN_OR_RETURN(fs::MountStatus after, LiveStatus(before.mountpoint));
  std::string kept;
  if (after.pending > 0) {
    kept = ", " + Plural(after.pending, "pending change", "pending changes") + " kept on top";
  }
  std::printf("Reloaded '%s': version %llu (was %llu)%s.\n", after.mountpoint.c_str(),
              static_cast<unsigned long long>(after.version),
              static_cast<unsigned long long>(before.version), kept.c_str());
  return Status::Ok();
}

Status StatusCommand(Context& ctx, const std::string& mountpoint) {
  ASSIGN_OR_RETURN(fs::MountStatus st, LiveStatus(mountpoint));
  if (ctx.json()) {
    nlohmann::json j = nlohmann::json::parse(fs::EncodeMountStatus(st), nullptr, false);
    std::cout << DumpJson(j) << "\n";
    return Status::Ok();
  }
  PrintStatusText(st);
  return Status::Ok();
}

Status RecoverCommand(Context& ctx) {
  const std::string state_dir = fs::DefaultStateDir(Absolute(ctx.store_spec()));
  Result<fs::RecoverReport> report = fs::Recover(ctx.store_spec(), "");
  if (!report.ok()) {
    return Context::InContext(report.status(),
                              "recovering mounts of store '" + ctx.store_spec() + "'");
  }
  size_t failed = 0;
  nlohmann::json out = nlohmann::json::array();
  for (const fs::RecoveredMount& m : report->mounts) {
    bool detached = !m.mountpoint.empty() && IsDeadMount(m.mountpoint) &&
                    fs::DetachDeadMount(m.mountpoint).ok();
    if (!m.committed) ++failed;
    if (ctx.json()) {
      out.push_back(RecoveredJson(m, detached));
      continue;
    }
    const std::string what = "mount " + m.mount_id + " of volume '" + m.volume +
                             "' in environment '" + m.environment + "' (at '" + m.mountpoint + "')";
    if (!m.committed) {
      std::printf("Could not recover %s: %s; left in place.\n", what.c_str(), m.error.c_str());
    } else if (m.commit.empty) {
      std::printf("Recovered %s: nothing was pending.\n", what.c_str());
    } else {
      std::printf("Recovered %s: %s.\n", what.c_str(), CommitSummary(m.commit).c_str());
    }
    if (detached) std::printf("Detached its dead mount at '%s'.\n", m.mountpoint.c_str());
  }
  if (ctx.json()) {
    std::cout << DumpJson(out) << "\n";
  } else if (report->mounts.empty()) {
    std::printf("Nothing to recover: no crashed mounts in '%s'.\n", state_dir.c_str());
  }
  if (failed > 0) {
    return Status::FailedPrecondition(Plural(failed, "crashed mount", "crashed mounts") +
                                      " could not be recovered; their changes stay in '" +
                                      state_dir + "'");
  }
  return Status::Ok();
}

Status RecoverOneCommand(Context& ctx, const std::string& mount_id, const std::string& into) {
  const std::string state_dir = fs::DefaultStateDir(Absolute(ctx.store_spec()));
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  if (into.empty()) {
    RETURN_IF_ERROR(Context::InContext(fs::DiscardMount(*eng, state_dir, mount_id),
                                       "discarding mount " + mount_id));
    std::printf("Discarded the pending changes of mount %s.\n", mount_id.c_str());
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(into));
  Result<volume::CommitResult> r = fs::RecoverMountInto(*eng, state_dir, mount_id, vol);
  if (!r.ok()) {
    return Context::InContext(r.status(),
                              "recovering mount " + mount_id + " into " + ctx.Where(into));
  }
  std::printf("Recovered the pending changes of mount %s into %s.\n", mount_id.c_str(),
              ctx.Where(into).c_str());
  if (r->empty) {
    std::printf("Nothing changed; the volume stays at version %llu.\n",
                static_cast<unsigned long long>(r->version));
  } else {
    std::printf("Committed version %llu.\n", static_cast<unsigned long long>(r->version));
  }
  return Status::Ok();
}

Status RecoverExportCommand(Context& ctx, const std::string& mount_id, const std::string& dir) {
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  const std::string name = "recovered-" + mount_id;
  RETURN_IF_ERROR(core::ValidateName("volume", name).Annotate("recover --export"));
  auto created = eng->CreateVolume(ctx.env_name(), name, {});
  if (!created.ok()) return Context::InContext(created.status(), ctx.Where(name));
  RETURN_IF_ERROR(RecoverOneCommand(ctx, mount_id, name));
  GetRequest get;
  get.remote = "/";
  get.local = dir;
  RETURN_IF_ERROR(VolumeGet(ctx, name, get));
  std::printf("The changes stay in %s; `snapvol volume delete %s` drops them.\n",
              ctx.Where(name).c_str(), name.c_str());
  return Status::Ok();
}

}  // namespace snapvol::cli

namespace snapvol::cli {

void AddMountCommands(CLI::App& app, std::function<Status(Context&)>& action) {
  auto req = std::make_shared<MountRequest>();
  CLI::App* c = app.add_subcommand(
      "mount", "Mount a volume (its newest version) with private writes; returns when ready");
  c->add_option("VOLUME", req->volume, "volume name")->required();
  c->add_option("MOUNTPOINT", req->mountpoint, "an existing directory")->required();
  c->add_option("--commit-interval", req->commit_interval,
                "background commits of pending changes (500ms, 5s, 2m; 0 or off: none; "
                "default 5s)");
  c->add_flag("--read-only", req->read_only, "refuse changes (EROFS)");
  CLI::Option* version =
      c->add_option("--version", req->version, "show version N instead of the newest (read-only)");
  c->add_flag("--foreground", req->foreground,
              "serve in this process until unmounted or SIGTERM (then commit)");
  c->callback([req, version, &action] {
    req->version_given = version->count() > 0;
    action = [req](Context& ctx) { return MountCommand(ctx, *req); };
  });

  struct Verb {
    const char* name;
    const char* help;
    Status (*run)(Context&, const std::string&);
  };
  const Verb verbs[] = {
      {"unmount", "Commit what is pending, then unmount", UnmountCommand},
      {"commit", "Commit a mount's pending changes as a new version", CommitCommand},
      {"reload", "Move a mount to the volume's newest version (pending changes stay)",
       ReloadCommand},
      {"status", "Show a mount's volume, version, pending changes and last commit", StatusCommand},
  };
  for (const Verb& v : verbs) {
    c = app.add_subcommand(v.name, v.help);
    c->add_option("MOUNTPOINT", req->mountpoint, "a snapvol mount")->required();
    c->callback([req, run = v.run, &action] {
      action = [req, run](Context& ctx) { return run(ctx, req->mountpoint); };
    });
  }
  app.get_subcommand("unmount")->alias("umount");

  c = app.add_subcommand("recover", "Commit what crashed mount servers of this store left pending");
  CLI::Option* into =
      c->add_option("--into", req->recover_into,
                    "commit the pending changes of mount MOUNT_ID into this volume instead (its "
                    "own volume was deleted)");
  CLI::Option* discard = c->add_option("--discard", req->recover_discard,
                                       "drop the pending changes of mount MOUNT_ID for good");
  c->add_option("MOUNT_ID", req->mount_id,
                "the mount, for --into and --export (as `recover` printed it)");
  CLI::Option* export_dir = c->add_option(
      "--export", req->recover_export,
      "write the pending changes of mount MOUNT_ID to this local directory (through a new volume "
      "recovered-MOUNT_ID, which is kept)");
  into->excludes(discard);
  export_dir->excludes(into);
  export_dir->excludes(discard);
  c->callback([req, &action] {
    action = [req](Context& ctx) {
      if (!req->recover_export.empty()) {
        if (req->mount_id.empty()) {
          return Status::InvalidArgument("recover --export DIR needs the MOUNT_ID");
        }
        return RecoverExportCommand(ctx, req->mount_id, req->recover_export);
      }
      if (!req->mount_id.empty() && req->recover_into.empty()) {
        return Status::InvalidArgument("recover: the argument '" + req->mount_id +
                                       "' is a MOUNT_ID, which only --into and --export take");
      }
      if (!req->recover_discard.empty()) return RecoverOneCommand(ctx, req->recover_discard, "");
      if (!req->recover_into.empty()) {
        if (req->mount_id.empty()) {
          return Status::InvalidArgument("recover --into VOLUME needs the MOUNT_ID");
        }
        return RecoverOneCommand(ctx, req->mount_id, req->recover_into);
      }
      return RecoverCommand(ctx);
    };
  });
}

}  // namespace snapvol::cli
