#include "driver/cli/volume_commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "driver/cli/format.h"
#include "driver/cli/remote_tree.h"
#include "driver/core/names.h"
#include "driver/core/text.h"

namespace snapvol::cli {

using core::JoinVolumePath;
using nlohmann::json;
using volume::Path;

namespace {

void PrintJson(const json& j) { std::cout << DumpJson(j) << "\n"; }

Result<Path> SplitRemote(const std::string& where, const std::string& path) {
  auto p = core::SplitVolumePath(path);
  if (!p.ok()) return UsageError(where + ": " + p.status().message());
  return p;
}

// Names and targets are bytes from the volume: escaped as `ls -b` does.
std::string LsName(const objects::Entry& e) {
  const std::string name = core::EscapeBytes(e.name());
  if (e.type() == objects::DIRECTORY) return name + "/";
  if (e.type() == objects::SYMLINK) return name + " -> " + core::EscapeBytes(e.symlink_target());
  return name;
}

void PrintLsLine(const objects::Entry& e) {
  uint64_t size = e.type() == objects::DIRECTORY ? e.subtree_bytes() : e.size();
  std::printf("%-8s %10s  %s  %s\n", std::string(TypeName(e.type())).c_str(),
              HumanSize(size).c_str(), LocalTime(e.mtime_ns()).c_str(), LsName(e).c_str());
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The commit line every changing command ends with.
void PrintCommitted(const volume::CommitResult& r) {
  if (r.empty) {
    std::printf("Nothing changed; the volume stays at version %llu.\n",
                static_cast<unsigned long long>(r.version));
  } else {
    std::printf("Committed version %llu.\n", static_cast<unsigned long long>(r.version));
  }
}

}  // namespace

Status VolumeCreate(Context& ctx, const std::string& name, uint64_t inode_limit) {
  RETURN_IF_ERROR(core::ValidateName("environment", ctx.env_name()));
  RETURN_IF_ERROR(core::ValidateName("volume", name));
  if (inode_limit == 0) return UsageError("--inode-limit must be at least 1");
  RETURN_IF_ERROR(ctx.CheckEnvironment());
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  volume::CreateVolumeOptions options;
  options.inode_limit = inode_limit;
  auto created = eng->CreateVolume(ctx.env_name(), name, options);
  if (!created.ok()) {
    if (created.status().Is(core::Code::kAlreadyExists)) {
      return Status::AlreadyExists(ctx.Where(name) + " already exists");
    }
    return Context::InContext(created.status(), ctx.Where(name));
  }
  std::printf("Created %s.\n", ctx.Where(name).c_str());
  return Status::Ok();
}

Status VolumeDelete(Context& ctx, const std::string& name, bool yes, bool force) {
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  RETURN_IF_ERROR(ctx.Confirm("delete " + ctx.Where(name) + " and all its versions", yes));
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  Status st = eng->DeleteVolume(vol.environment, vol.name, force);
  if (st.Is(core::Code::kNotFound)) return Status::NotFound(ctx.Where(name) + " not found");
  RETURN_IF_ERROR(Context::InContext(st, ctx.Where(name)));
  std::printf("Deleted %s.\n", ctx.Where(name).c_str());
  return Status::Ok();
}

Status VolumeList(Context& ctx) {
  RETURN_IF_ERROR(ctx.CheckEnvironment());
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto vols = eng->ListVolumes(ctx.env_name());
  if (!vols.ok()) {
    return Context::InContext(vols.status(), "environment '" + ctx.env_name() + "'");
  }
  // A volume whose head cannot be read is still listed (without version),
  // so one damaged volume does not hide the others.
  std::vector<std::optional<volume::Snapshot>> heads;
  for (const auto& v : *vols) {
    auto h = eng->Head(v);
    heads.push_back(h.ok() ? std::optional<volume::Snapshot>(std::move(h).value()) : std::nullopt);
  }
  if (ctx.json()) {
    json out = json::array();
    for (size_t i = 0; i < vols->size(); ++i) {
      out.push_back(VolumeJson((*vols)[i], heads[i] ? &*heads[i] : nullptr));
    }
    PrintJson(out);
    return Status::Ok();
  }
  if (vols->empty()) {
    std::printf("No volumes in environment '%s'.\n", ctx.env_name().c_str());
    return Status::Ok();
  }
  size_t w = 4;
  for (const auto& v : *vols) w = std::max(w, v.name.size());
  std::printf("%-*s  %-19s  %7s  %9s  %10s\n", static_cast<int>(w), "NAME", "CREATED", "VERSION",
              "FILES", "SIZE");
  for (size_t i = 0; i < vols->size(); ++i) {
    const auto& v = (*vols)[i];
    std::string version = "?", files = "?", size = "?";
    if (heads[i]) {
      version = std::to_string(heads[i]->version);
      // The root itself is not a file the user made.
      files = std::to_string(heads[i]->inodes() > 0 ? heads[i]->inodes() - 1 : 0);
      size = HumanSize(heads[i]->commit.bytes());
    }
    std::printf("%-*s  %-19s  %7s  %9s  %10s\n", static_cast<int>(w), v.name.c_str(),
                LocalTime(v.created_ns).c_str(), version.c_str(), files.c_str(), size.c_str());
  }
  return Status::Ok();
}

Status VolumeLs(Context& ctx, const std::string& name, const std::string& path) {
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  const std::string where = ctx.Where(name);
  ASSIGN_OR_RETURN(Path p, SplitRemote(where, path.empty() ? "/" : path));
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto head = eng->Head(vol);
  if (!head.ok()) return Context::InContext(head.status(), where);
  ASSIGN_OR_RETURN(objects::Entry root, RootOf(eng, *head));
  ASSIGN_OR_RETURN(auto found, ResolveIn(eng, root, p, where));
  const std::string shown = JoinVolumePath(p);
  if (!found) return Status::NotFound(where + ": '" + shown + "' not found");
  if (found->type() != objects::DIRECTORY) {
    if (ctx.json()) {
      PrintJson(json::array({EntryJson(*found, shown)}));
    } else {
      PrintLsLine(*found);
    }
    return Status::Ok();
  }
  auto tree = volume::TreeOf(*found);
  if (!tree.ok()) return Context::InContext(tree.status(), where + ": '" + shown + "'");
  json out = json::array();
  Status st = eng->reader().ForEach(*tree, [&](const objects::Entry& e) {
    if (ctx.json()) {
      out.push_back(EntryJson(e, p.empty() ? "/" + e.name() : shown + "/" + e.name()));
    } else {
      PrintLsLine(e);  // streamed: a directory of 1M entries is never held in memory
    }
    return Status::Ok();
  });
  if (!st.ok()) return Context::InContext(st, where + ": '" + shown + "'");
  if (ctx.json()) PrintJson(out);
  return Status::Ok();
}

Status VolumePut(Context& ctx, const std::string& name, const PutRequest& request) {
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  Uploader uploader(eng, vol, ctx.Where(name));
  auto put = uploader.Put(request);
  // Local errors ("cannot open 'x'") get the volume named too.
  if (!put.ok()) return Context::InContext(put.status(), ctx.Where(name));
  const PutResult& r = *put;
  std::string what = Plural(r.files, "file", "files");
  if (r.dirs > 0) what += ", " + Plural(r.dirs, "directory", "directories");
  if (r.symlinks > 0) what += ", " + Plural(r.symlinks, "symlink", "symlinks");
  std::printf("Uploaded %s (%s) to '%s' in %s.\n", what.c_str(), HumanSize(r.bytes).c_str(),
              r.target.c_str(), ctx.Where(name).c_str());
  PrintCommitted(r.commit);
  return Status::Ok();
}

Status VolumeGet(Context& ctx, const std::string& name, const GetRequest& request) {
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto head = eng->Head(vol);
  if (!head.ok()) return Context::InContext(head.status(), ctx.Where(name));
  Downloader downloader(eng, *head, ctx.Where(name));
  auto got = downloader.Get(request);
  if (!got.ok()) return Context::InContext(got.status(), ctx.Where(name));
  const GetResult& r = *got;
  if (r.written_to == "-") return Status::Ok();  // stdout carries the data
  std::string what = Plural(r.files, "file", "files");
  if (r.dirs > 0) what += ", " + Plural(r.dirs, "directory", "directories");
  if (r.symlinks > 0) what += ", " + Plural(r.symlinks, "symlink", "symlinks");
  std::printf("Downloaded %s (%s) from %s version %llu to '%s'.\n", what.c_str(),
              HumanSize(r.bytes).c_str(), ctx.Where(name).c_str(),
              static_cast<unsigned long long>(head->version), r.written_to.c_str());
  return Status::Ok();
}

Status VolumeRm(Context& ctx, const std::string& name, const std::string& path, bool recursive) {
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  const std::string where = ctx.Where(name);
  ASSIGN_OR_RETURN(Path p, SplitRemote(where, path));
  if (p.empty()) {
    return UsageError(where + ": cannot remove the volume root '/' (to remove the volume, use " +
                      "`snapvol volume delete " + name + "`)");
  }
  const std::string shown = JoinVolumePath(p);
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto head = eng->Head(vol);
  if (!head.ok()) return Context::InContext(head.status(), where);
  ASSIGN_OR_RETURN(objects::Entry root, RootOf(eng, *head));
  ASSIGN_OR_RETURN(auto found, ResolveIn(eng, root, p, where));
  if (!found) return Status::NotFound(where + ": '" + shown + "' not found");
  if (found->type() == objects::DIRECTORY && !recursive) {
    auto tree = volume::TreeOf(*found);
    if (!tree.ok()) return Context::InContext(tree.status(), where + ": '" + shown + "'");
    auto first = eng->reader().List(*tree, "", 1);
    if (!first.ok()) return Context::InContext(first.status(), where + ": '" + shown + "'");
    if (!first->empty()) {
      return Status::FailedPrecondition(where + ": '" + shown +
                                        "' is a directory and not empty (use -r to remove it "
                                        "and everything in it)");
    }
  }
  volume::ChangeSet changes;
  changes.Add(volume::ChangeOp{volume::ChangeOp::Kind::kDelete, p, {}, {}, {}});
  volume::CommitOptions options;
  options.author = volume::DefaultAuthor("cli");
  options.message = "rm " + shown;
  auto r = eng->Commit(vol, changes, options);
  if (!r.ok()) return Context::InContext(r.status(), where);
  std::printf("Removed '%s' from %s.\n", shown.c_str(), where.c_str());
  PrintCommitted(*r);
  return Status::Ok();
}

Status VolumeCp(Context& ctx, const std::string& name, const std::vector<std::string>& paths,
                bool force) {
  if (paths.size() < 2) return UsageError("cp needs at least one SRC and a DST");
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  const std::string where = ctx.Where(name);
  std::vector<Path> srcs;
  for (size_t i = 0; i + 1 < paths.size(); ++i) {
    ASSIGN_OR_RETURN(Path s, SplitRemote(where, paths[i]));
    if (s.empty()) return UsageError(where + ": cannot copy the volume root '/'");
    srcs.push_back(std::move(s));
  }
  ASSIGN_OR_RETURN(Path dst, SplitRemote(where, paths.back()));
  const std::string dst_shown = JoinVolumePath(dst);

  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto head = eng->Head(vol);
  if (!head.ok()) return Context::InContext(head.status(), where);
  ASSIGN_OR_RETURN(objects::Entry root, RootOf(eng, *head));
  ASSIGN_OR_RETURN(auto dst_entry, ResolveIn(eng, root, dst, where));
  bool dst_is_dir = dst_entry && dst_entry->type() == objects::DIRECTORY;
  if (srcs.size() > 1 && !dst_is_dir) {
    return Status::FailedPrecondition(
        where + ": '" + dst_shown + "' " + (dst_entry ? "is not a directory" : "does not exist") +
        "; copying several sources needs an existing directory as the destination");
  }
  bool into = dst_is_dir || (paths.back().ends_with('/') && !dst_entry);
  Path probe = dst;  // a path below every directory the copies land in
  if (into) probe.push_back("x");
  RETURN_IF_ERROR(CheckParents(eng, root, probe, where));

  volume::ChangeSet changes;
  for (const Path& s : srcs) {
    const std::string src_shown = JoinVolumePath(s);
    ASSIGN_OR_RETURN(auto src_entry, ResolveIn(eng, root, s, where));
    if (!src_entry) return Status::NotFound(where + ": '" + src_shown + "' not found");
    Path target = dst;
    if (into) target.push_back(s.back());
    const std::string target_shown = JoinVolumePath(target);
    if (target == s) {
      return UsageError(where + ": '" + src_shown + "' and '" + target_shown +
                        "' are the same path");
    }
    if (target.size() > s.size() && std::equal(s.begin(), s.end(), target.begin())) {
      return UsageError(where + ": cannot copy '" + src_shown + "' into itself ('" + target_shown +
                        "')");
    }
    ASSIGN_OR_RETURN(auto existing, ResolveIn(eng, root, target, where));
    if (existing) {
      if (existing->type() == objects::DIRECTORY) {
        return Status::AlreadyExists(where + ": '" + target_shown +
                                     "' already exists and is a directory; it is never replaced");
      }
      if (!force) {
        return Status::AlreadyExists(where + ": '" + target_shown +
                                     "' already exists (use --force to overwrite)");
      }
    }
    changes.Add(volume::ChangeOp{volume::ChangeOp::Kind::kCopy, s, std::move(target), {}, {}});
  }
  volume::CommitOptions options;
  options.author = volume::DefaultAuthor("cli");
  options.message = "cp";
  for (const auto& p : paths) options.message += " " + p;
  auto r = eng->Commit(vol, changes, options);
  if (!r.ok()) return Context::InContext(r.status(), where);
  for (const auto& skipped : r->skipped) {
    std::fprintf(stderr, "snapvol: %s: %s vanished before the copy landed; skipped\n",
                 where.c_str(), core::QuoteBytes(skipped).c_str());
  }
  std::printf("Copied %s to '%s' in %s.\n", Plural(srcs.size(), "item", "items").c_str(),
              dst_shown.c_str(), where.c_str());
  PrintCommitted(*r);
  return Status::Ok();
}

Status VolumeRename(Context& ctx, const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(core::ValidateName("environment", ctx.env_name()));
  RETURN_IF_ERROR(core::ValidateName("volume", from));
  RETURN_IF_ERROR(core::ValidateName("volume", to));
  RETURN_IF_ERROR(ctx.OpenVolume(from).status());
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  Status st = eng->RenameVolume(ctx.env_name(), from, to);
  if (st.Is(core::Code::kNotFound)) return Status::NotFound(ctx.Where(from) + " not found");
  if (st.Is(core::Code::kAlreadyExists)) {
    return Status::AlreadyExists(ctx.Where(to) + " already exists");
  }
  RETURN_IF_ERROR(Context::InContext(st, ctx.Where(from)));
  std::printf("Renamed volume '%s' to '%s' in environment '%s'.\n", from.c_str(), to.c_str(),
              ctx.env_name().c_str());
  return Status::Ok();
}

namespace {

// One version of `volume log`: number, time, author, summary, message and
// sample paths (escaped); a damaged version says so.
void PrintLogEntry(const volume::Snapshot& s) {
  if (!s.error.ok()) {
    std::printf("version %llu  DAMAGED: %s\n", static_cast<unsigned long long>(s.version),
                core::EscapeBytes(s.error.message()).c_str());
    return;
  }
  const objects::Commit& c = s.commit;
  std::printf("version %llu  %s  %s  %s\n", static_cast<unsigned long long>(s.version),
              LocalTime(c.time_ns()).c_str(), AuthorString(c.author()).c_str(),
              SummaryString(c.summary()).c_str());
  if (!c.message().empty()) std::printf("    %s\n", core::EscapeBytes(c.message()).c_str());
  for (const auto& line : c.summary().sample()) {
    std::printf("    %s\n", core::EscapeBytes(line).c_str());
  }
  uint64_t changed =
      c.summary().added() + c.summary().modified() + c.summary().deleted() + c.summary().renamed();
  if (changed > static_cast<uint64_t>(c.summary().sample_size())) {
    std::printf("    ... and %llu more\n",
                static_cast<unsigned long long>(changed - c.summary().sample_size()));
  }
}

}  // namespace

Status VolumeLog(Context& ctx, const std::string& name, size_t limit) {
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  const std::string where = ctx.Where(name);
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  auto log = eng->Log(vol, limit);
  if (!log.ok()) return Context::InContext(log.status(), where);
  std::vector<volume::Snapshot> versions;
  for (auto& s : *log) {
    if (s.version > 0) versions.push_back(std::move(s));
  }
  std::sort(versions.begin(), versions.end(),
            [](const auto& a, const auto& b) { return a.version > b.version; });
  size_t damaged = 0;
  for (const auto& s : versions) damaged += s.error.ok() ? 0 : 1;
  if (ctx.json()) {
    json out = json::array();
    for (const auto& s : versions) out.push_back(SnapshotJson(s));
    PrintJson(out);
  } else if (versions.empty()) {
    std::printf("%s has no versions yet.\n", where.c_str());
  } else {
    for (const auto& s : versions) PrintLogEntry(s);
  }
  if (damaged > 0) {
    return Status::Corruption(where + ": " + std::to_string(damaged) + " of " +
                              std::to_string(versions.size()) +
                              " versions shown cannot be read; `snapvol volume rollback " + name +
                              " N` makes a readable version N the newest");
  }
  return Status::Ok();
}

Status VolumeRollback(Context& ctx, const std::string& name, uint64_t version) {
  ASSIGN_OR_RETURN(store::VolumeRecord vol, ctx.OpenVolume(name));
  const std::string where = ctx.Where(name);
  ASSIGN_OR_RETURN(volume::Engine * eng, ctx.engine());
  volume::CommitOptions options;
  options.author = volume::DefaultAuthor("cli");
  auto r = eng->Rollback(vol, version, options);
  if (!r.ok()) return Context::InContext(r.status(), where);
  std::printf("Rolled %s back to the content of version %llu.\n", where.c_str(),
              static_cast<unsigned long long>(version));
  PrintCommitted(*r);
  return Status::Ok();
}

}  // namespace snapvol::cli
