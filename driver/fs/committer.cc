#include "driver/fs/committer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "driver/core/monotonic_clock.h"
#include "driver/volume/inline_pack.h"

namespace snapvol::fs {
namespace {

using volume::ChangeOp;
using volume::Path;

CommitPlan::Op PutOp(const Path& path, const Node* n) {
  CommitPlan::Op op;
  op.op.kind = ChangeOp::Kind::kPut;
  op.op.path = path;
  op.op.entry = EntryOf(n);
  op.node = n->ino;
  if (n->type == NodeType::kFile && n->upper != nullptr) {
    op.upper = n->upper;
    op.op.entry.clear_content();
  }
  return op;
}

CommitPlan::Op DeleteOp(const Path& path) {
  CommitPlan::Op op;
  op.op.kind = ChangeOp::Kind::kDelete;
  op.op.path = path;
  return op;
}

// A directory's attributes, and its whole xattr set if `set_xattrs` (only
// xattrs this mount changed replace the head's: a chmod of a directory
// whose xattrs were merely read must not revert another mount's; the entry
// then holds the whole set, loaded from the base first).
CommitPlan::Op MkdirOp(const Path& path, const Node* n, bool set_xattrs) {
  CommitPlan::Op op;
  op.op.kind = ChangeOp::Kind::kMkdir;
  op.op.path = path;
  op.op.entry = EntryOf(n);
  op.op.set_xattrs = set_xattrs && n->entry != nullptr;
  op.node = n->ino;
  return op;
}

CommitPlan::Op SetAttrOp(const Path& path, const Node* n) {
  CommitPlan::Op op;
  op.op.kind = ChangeOp::Kind::kSetAttr;
  op.op.path = path;
  op.op.attrs.mode = n->attr.mode;
  op.op.attrs.uid = n->attr.uid;
  op.op.attrs.gid = n->attr.gid;
  op.op.attrs.mtime_ns = n->attr.mtime_ns;
  op.node = n->ino;
  return op;
}

}  // namespace

const char* CommitTriggerName(CommitTrigger t) {
  switch (t) {
    case CommitTrigger::kExplicit:
      return "explicit";
    case CommitTrigger::kBackground:
      return "background";
    case CommitTrigger::kFinal:
      return "final";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Step 1: the plan.

void Committer::EmitNode(Node* dir, const std::string& name, const Child& child, const Path& path,
                         bool force, CommitPlan* plan, std::set<Ino>* emitted) {
  Node* n = child.node;
  const bool binding = child.pending || force;
  auto mark_child = [&] {
    plan->children.push_back(CommitPlan::ChildMark{dir->ino, name, child.seq, n ? n->ino : 0});
  };
  auto mark_node = [&] { plan->nodes.push_back(CommitPlan::NodeMark{n->ino, n->seq}); };
  if (n == nullptr) {
    if (binding) {
      plan->ops.push_back(DeleteOp(path));
      mark_child();
    }
    return;
  }
  if (n->is_dir()) {
    if (binding && !n->at_origin) {
      if (n->dir->tree) {
        plan->ops.push_back(PutOp(path, n));
      } else {
        if (child.replaced) plan->ops.push_back(DeleteOp(path));
        plan->ops.push_back(MkdirOp(path, n, n->xattrs_changed));
      }
      mark_child();
      mark_node();
      EmitDir(n, path, true, plan, emitted);
      return;
    }
    // Under `force` an ancestor is re-published from this mount's base
    // tree, which lacks what earlier commits of this mount changed here
    // (attributes, xattrs): a directory holding local state states it again.
    if (n->dirty || (force && n->kept)) {
      plan->ops.push_back(MkdirOp(path, n, n->xattrs_changed || force));
      mark_node();
    }
    if (child.pending) mark_child();
    if (force && n->kept) EmitDir(n, path, true, plan, emitted);
    return;
  }
  if (!(binding || n->dirty || (force && n->kept))) return;
  // A node at its base entry whose entry was never loaded: its content is
  // known only from the base tree, so it is published as a SetAttr of its
  // attributes (a Put from the node would carry no content). Under `force`
  // the ancestor re-publishes that base tree: an untouched node is in it
  // already, but one whose attributes this mount changed (kept), even if
  // an earlier commit took the change, must state them again.
  const bool unloaded = n->at_origin && n->upper == nullptr && n->entry == nullptr;
  if (unloaded && !child.pending && !n->dirty && !n->kept) return;
  if (unloaded && !child.pending) {
    plan->ops.push_back(SetAttrOp(path, n));
  } else {
    plan->ops.push_back(PutOp(path, n));
  }
  mark_child();
  mark_node();
}

void Committer::EmitDir(Node* dir, const Path& path, bool force, CommitPlan* plan,
                        std::set<Ino>* emitted) {
  emitted->insert(dir->ino);
  for (const auto& [name, child] : dir->dir->children) {
    Path p = path;
    p.push_back(name);
    EmitNode(dir, name, child, p, force, plan, emitted);
  }
}

// The root has no name to bind: its attributes, and its xattrs when this
// mount changed them (a Mkdir of the root, which the engine applies to the
// existing root).
void Committer::EmitRoot(Node* root, CommitPlan* plan) {
  if (!root->dirty) return;
  if (root->xattrs_changed && root->entry != nullptr) {
    plan->ops.push_back(MkdirOp(Path(), root, true));
  } else {
    plan->ops.push_back(SetAttrOp(Path(), root));
  }
  plan->nodes.push_back(CommitPlan::NodeMark{kRootIno, root->seq});
}

Result<CommitPlan> Committer::Plan(bool final) {
  View& v = *view_;
  View::Lock lock(v.mu_);
  CommitPlan plan;
  plan.final = final;
  if (v.journal_ != nullptr) {
    ASSIGN_OR_RETURN(plan.closed_gen, v.journal_->Rotate());
  }
  std::vector<std::pair<Path, Node*>> dirs;
  for (Ino ino : v.changes_.dirs()) {
    Node* d = v.Get(ino);
    if (d == nullptr || !d->is_dir() || !Attached(d)) continue;
    dirs.emplace_back(PathOf(d), d);
  }
  std::sort(dirs.begin(), dirs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  EmitRoot(v.table_.root(), &plan);
  std::set<Ino> emitted;
  for (const auto& [path, d] : dirs) {
    if (emitted.count(d->ino) != 0) continue;
    EmitDir(d, path, false, &plan, &emitted);
  }
  // From here until Finish the head may come to hold every name this plan
  // publishes, whatever the mount does to the name meanwhile.
  for (const CommitPlan::ChildMark& m : plan.children) {
    if (m.node == 0) continue;
    Node* d = v.Get(m.dir);
    if (d == nullptr || !d->is_dir()) continue;
    auto it = d->dir->children.find(m.name);
    if (it != d->dir->children.end()) it->second.in_commit = true;
  }
  return plan;
}

// ---------------------------------------------------------------------------
// Step 2: reading the written files.

Result<volume::ChangeSet> Committer::Read(CommitPlan& plan, CommitTrigger trigger,
                                          std::set<Ino>* deferred) {
  store::ObjectStore* objects = &engine_->objects();
  std::map<UpperFile*, std::optional<UpperFile::Snap>> snaps;
  // A file still open for writing may be half way through a rewrite (S5):
  // background commits leave it for a later commit; explicit ones take it
  // once it has been quiet for a moment (an application that wrote and then
  // asked for a commit), but leave it if it keeps being written. The final
  // commit takes everything.
  const int64_t deadline = core::MonotonicNanos() + options_.quiet_deadline_ns;
  for (const CommitPlan::Op& op : plan.ops) {
    if (op.upper == nullptr || snaps.count(op.upper.get()) != 0) continue;
    std::optional<UpperFile::Snap> taken;
    for (int attempt = 0; attempt < options_.snapshot_attempts && !taken; ++attempt) {
      if (op.upper->writers() > 0 && trigger != CommitTrigger::kFinal &&
          (trigger == CommitTrigger::kBackground ||
           !op.upper->WaitQuiet(options_.quiet_ns, deadline))) {
        break;
      }
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2 << attempt));
      Result<std::optional<UpperFile::Snap>> snap = op.upper->Snapshot(objects, 1);
      if (!snap.ok()) return snap.status().Annotate("reading a written file");
      taken = std::move(*snap);
    }
    snaps.emplace(op.upper.get(), std::move(taken));
  }
  for (const CommitPlan::Op& op : plan.ops) {
    if (op.upper != nullptr && !snaps[op.upper.get()]) deferred->insert(op.node);
  }
  // Each snapshot's content moves into the last op that names its file
  // (hard links name one file from several paths): a commit of 100k small
  // files would otherwise hold every inlined byte once more.
  std::map<UpperFile*, size_t> uses;
  for (const CommitPlan::Op& op : plan.ops) {
    if (op.upper != nullptr) ++uses[op.upper.get()];
  }
  volume::ChangeSet changes;
  for (CommitPlan::Op& op : plan.ops) {
    if (op.node != 0 && deferred->count(op.node) != 0) continue;
    volume::ChangeOp c = std::move(op.op);
    if (op.upper != nullptr) {
      UpperFile::Snap& snap = *snaps[op.upper.get()];
      if (--uses[op.upper.get()] == 0) {
        *c.entry.mutable_content() = std::move(snap.content);
      } else {
        *c.entry.mutable_content() = snap.content;
      }
      c.entry.set_size(snap.size);
      changes.add_bytes_written(snap.size);
    }
    changes.Add(std::move(c));
  }
  return changes;
}

// ---------------------------------------------------------------------------
// Steps 1-4.

Result<CommitOutcome> Committer::Commit(const volume::VolumeRecord& volume, CommitTrigger trigger,
                                        const volume::CommitOptions& options) {
  ASSIGN_OR_RETURN(CommitPlan plan, Plan(trigger == CommitTrigger::kFinal));
  if (after_plan_) after_plan_();
  std::set<Ino> deferred;
  Result<volume::ChangeSet> changes = Read(plan, trigger, &deferred);
  if (!changes.ok()) {
    (void)Finish(plan, false, {});
    return changes.status();
  }
  // Small files into packs first: their bytes are then held once, not
  // again by the engine's tree editor (and by every retry of the commit).
  Status packed = volume::PackChangeSet(engine_->objects(), &*changes);
  Result<volume::CommitResult> result =
      packed.ok() ? engine_->Commit(volume, *changes, options)
                  : Result<volume::CommitResult>(packed.Annotate("storing small files"));
  RETURN_IF_ERROR(Finish(plan, result.ok(), deferred));
  if (!result.ok()) return result.status();
  CommitOutcome out;
  out.result = *result;
  out.changes = changes->size();
  out.deferred = deferred.size();
  return out;
}

// ---------------------------------------------------------------------------
// Step 4: finishing.

Status Committer::Finish(const CommitPlan& plan, bool landed, const std::set<Ino>& deferred) {
  View& v = *view_;
  View::Lock lock(v.mu_);
  for (const CommitPlan::ChildMark& m : plan.children) {
    Node* d = v.Get(m.dir);
    if (d == nullptr || !d->is_dir()) continue;
    auto it = d->dir->children.find(m.name);
    if (it == d->dir->children.end()) continue;
    Child& c = it->second;
    c.in_commit = false;
    const bool published = landed && (m.node == 0 || deferred.count(m.node) == 0);
    if (!published) {
      // A whiteout left only because this commit might publish the name.
      if (c.node == nullptr && c.pending && !c.replaced) d->dir->children.erase(it);
      continue;
    }
    if (c.seq == m.seq) {
      c.pending = false;
      c.replaced = true;
    } else if (m.node != 0) {
      // Changed while the commit ran: still pending, and the head now holds
      // what the commit published here, which the next commit must replace
      // or delete.
      c.replaced = true;
    }
  }
  if (!landed) return Status::Ok();
  for (const CommitPlan::NodeMark& m : plan.nodes) {
    if (deferred.count(m.node) != 0) continue;
    Node* n = v.Get(m.node);
    if (n != nullptr && n->seq == m.seq) {
      n->dirty = false;
      n->xattrs_changed = false;
    }
  }
  v.changes_.DropSettledDirs();
  // Deferred nodes are still pending but the journal generations holding
  // their records are about to go: write them again, at their current paths.
  for (Ino ino : deferred) {
    Node* n = v.Get(ino);
    if (n != nullptr && Attached(n)) RETURN_IF_ERROR(v.records_.Record(n));
  }
  if (v.journal_ != nullptr) RETURN_IF_ERROR(v.journal_->RemoveThrough(plan.closed_gen));
  return Status::Ok();
}

}  // namespace snapvol::fs
