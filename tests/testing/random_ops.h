// RandomOps: the random file-system operations of the stress tests
// (e2e/stress_e2e_test.cc through a mount, tests/fs/view_random_test.cc on
// a View). An operation is a pure function of (seed, worker,
// step): made once, it runs the same system calls with the same bytes
// against any root — a snapvol mount, or a plain directory that serves as
// the model of what the mount must show.
//
// Names come from a small pool, so operations collide all the time: renames
// over existing targets, links and deletes of names another worker just
// made, directories that are not empty. Every operation is one to three
// system calls; RunOp can stop after the first `steps` of them, which is
// how a test builds the states a crash in the middle of one may leave.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace snapvol::testing {

struct NamePool {
  // Directories every path starts in ("" = the root). Never created,
  // renamed or deleted by the operations (the two-mount test shares them).
  std::vector<std::string> bases = {""};
  // Prepended to every name the operations make (keeps two mounts' names
  // apart inside the shared bases).
  std::string prefix;
  int names = 3;      // names per directory level: <prefix>a, <prefix>b, ...
  int max_depth = 3;  // path components below a base
  // Whether link(2) is in the mix (docs/mount.md "Known gaps": a mount
  // that changes a hard-linked file through some of its names does not
  // publish the change at names it never looked up).
  bool hard_links = true;
};

struct Op {
  enum class Kind {
    kCreate,       // open(O_CREAT|O_TRUNC) + write + close
    kWrite,        // open + pwrite + close
    kFsync,        // open + pwrite + fsync (+ close)
    kTruncate,     // truncate(2)
    kRename,       // rename(2) (files and directories, over existing targets)
    kLink,         // link(2)
    kUnlink,       // unlink(2)
    kMkdir,        // mkdir(2)
    kRmdir,        // rmdir(2)
    kSymlink,      // symlink(2)
    kMknod,        // mknod(2): a FIFO or a socket
    kChmod,        // chmod(2)
    kSetXattr,     // setxattr(2), user.* names
    kRemoveXattr,  // removexattr(2)
  };
  Kind kind = Kind::kCreate;
  std::string path;     // relative to the root
  std::string path2;    // rename/link target
  std::string target;   // symlink target
  std::string data;     // bytes written, xattr value
  uint64_t offset = 0;  // pwrite offset, truncate length
  uint32_t mode = 0;    // create/mkdir/chmod/mknod (with type bits for mknod)
  std::string xattr;    // xattr name
};

// The operation `step` of `worker` under `seed`.
Op MakeOp(uint64_t seed, int worker, int step, const NamePool& pool);

// What running an operation did: the errno of each system call made (0 =
// success), stopping at the first failure.
struct OpOutcome {
  std::vector<int> errs;
  int err() const;  // the first failure, 0 if none
  // A call failed because the mount's server is gone (ENOTCONN,
  // ECONNABORTED): whether the operation took effect is unknown.
  bool disconnected() const;
};

// Runs `op` under `root` (an absolute directory). `steps` < 0 runs it whole;
// else only its first `steps` system calls (0 = none).
OpOutcome RunOp(const std::string& root, const Op& op, int steps = -1);
// How many system calls RunOp makes for `op` when all succeed.
int StepsOf(const Op& op);

// One line: "rename a/b -> c" and so on, with sizes, offsets and modes.
std::string Describe(const Op& op);

}  // namespace snapvol::testing
