// Committer: one commit of a View's pending changes, from plan to finish
// (S3, S5, S6; docs/mount.md "Journal, commit, recovery"):
//   1. Plan: rotates the journal (later operations go to generation g+1)
//      and walks the directories with pending changes, parents first,
//      producing the *state* of every changed path (Delete for whiteouts,
//      Put for new/changed files and symlinks, SetAttr for attribute-only
//      changes of committed files, Mkdir for new directories and directory
//      attribute/xattr changes — the root's included —, Put of the moved
//      subtree for a renamed directory followed by everything local below
//      it). Every name the plan puts an entry at is marked in_commit until
//      Finish.
//   2. Each upper file is read into the store (or its sealed stream's
//      content taken) without any lock, accepted only if no write was in
//      flight or completed meanwhile (UpperFile::Snapshot); otherwise it is
//      retried (`snapshot_attempts`) and finally deferred. Files still open
//      for writing are deferred by background commits; explicit commits
//      take one once it has been quiet for `quiet_ns` (at most
//      `quiet_deadline_ns` of waiting per commit); the final commit takes
//      everything.
//   3. Engine::Commit lands the change set on the head as it is then.
//   4. Finish: if it landed, bindings and nodes whose change sequence did
//      not move meanwhile stop being pending; deferred nodes are journaled
//      again; generations <= g are deleted. If it failed, everything stays
//      pending and journaled, and the next commit retries (S9).
//
// Thread-safety: commits must be serialized by the caller
// (MountServer::control_mu_); file operations on the View continue while
// one runs. Plan and Finish take View::mu_; step 2 runs without it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "driver/core/result.h"
#include "driver/fs/view.h"
#include "driver/volume/change_set.h"
#include "driver/volume/engine.h"

namespace snapvol::fs {

enum class CommitTrigger { kExplicit, kBackground, kFinal };
const char* CommitTriggerName(CommitTrigger t);

// A commit prepared by Committer::Plan.
struct CommitPlan {
  struct Op {
    volume::ChangeOp op;
    // For a Put of a file whose content is an upper file: filled in from
    // `upper` (Snapshot) before the change set is built.
    std::shared_ptr<UpperFile> upper;
    Ino node = 0;  // the node whose state this op publishes (0 = none)
  };
  std::vector<Op> ops;
  // Bindings and nodes to mark committed if the commit lands and they did
  // not change meanwhile.
  struct ChildMark {
    Ino dir;
    std::string name;
    uint64_t seq;
    Ino node;
  };
  struct NodeMark {
    Ino node;
    uint64_t seq;
  };
  std::vector<ChildMark> children;
  std::vector<NodeMark> nodes;
  uint64_t closed_gen = 0;  // journal generations <= this are covered
  bool final = false;
};

struct CommitterOptions {
  // Attempts to read a changing upper file consistently.
  int snapshot_attempts = 4;
  // How long a file open for writing must go unwritten before an explicit
  // commit takes it, and how long one commit waits for that in total.
  int64_t quiet_ns = 200'000'000;
  int64_t quiet_deadline_ns = 1'000'000'000;
};

// What a commit did.
struct CommitOutcome {
  volume::CommitResult result;
  size_t changes = 0;   // ops in the change set
  size_t deferred = 0;  // files left for a later commit
};

class Committer {
 public:
  // `view` and `engine` must outlive the committer.
  Committer(View* view, volume::Engine* engine, CommitterOptions options = {})
      : view_(view), engine_(engine), options_(options) {}

  // Steps 1-4 for `volume`, with the engine's `options` (author, message).
  Result<CommitOutcome> Commit(const volume::VolumeRecord& volume, CommitTrigger trigger,
                               const volume::CommitOptions& options);

  // Step 1. `final` takes files that are open for writing too.
  Result<CommitPlan> Plan(bool final);
  // Step 4. If `landed`, marks the plan's items committed unless they
  // changed meanwhile (except `deferred` nodes, which stay pending and are
  // re-journaled), then deletes the journal generations the plan covered.
  Status Finish(const CommitPlan& plan, bool landed, const std::set<Ino>& deferred);

  // Tests: `hook` runs inside every commit after it was planned and before
  // it lands, while file operations may run. Set before commits start.
  void SetAfterPlanHookForTest(std::function<void()> hook) { after_plan_ = std::move(hook); }

 private:
  // Step 2: the change set of `plan`; files that could not be read
  // consistently (or are left open for writing) go to *deferred.
  Result<volume::ChangeSet> Read(CommitPlan& plan, CommitTrigger trigger, std::set<Ino>* deferred);

  // Planning (View::mu_ held).
  void EmitDir(Node* dir, const volume::Path& path, bool force, CommitPlan* plan,
               std::set<Ino>* emitted);
  void EmitNode(Node* dir, const std::string& name, const Child& child, const volume::Path& path,
                bool force, CommitPlan* plan, std::set<Ino>* emitted);
  void EmitRoot(Node* root, CommitPlan* plan);

  View* const view_;
  volume::Engine* const engine_;
  const CommitterOptions options_;
  std::function<void()> after_plan_;  // tests only
};

}  // namespace snapvol::fs
