#include "tests/testing/random_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <sstream>

namespace snapvol::testing {
namespace {

struct Weighted {
  Op::Kind kind;
  int weight;
};

constexpr Weighted kMix[] = {
    {Op::Kind::kCreate, 14},  {Op::Kind::kWrite, 9},       {Op::Kind::kFsync, 2},
    {Op::Kind::kTruncate, 5}, {Op::Kind::kRename, 18},     {Op::Kind::kLink, 5},
    {Op::Kind::kUnlink, 8},   {Op::Kind::kMkdir, 12},      {Op::Kind::kRmdir, 6},
    {Op::Kind::kSymlink, 5},  {Op::Kind::kMknod, 4},       {Op::Kind::kChmod, 5},
    {Op::Kind::kSetXattr, 6}, {Op::Kind::kRemoveXattr, 2},
};

class Gen {
 public:
  Gen(uint64_t seed, int worker, int step)
      : rng_(seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(worker) << 40) ^
             static_cast<uint64_t>(step) * 0xD1B54A32D192ED03ull) {}

  uint64_t Below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  // Names are bytes: the second name of each level is not UTF-8.
  std::string Name(const NamePool& pool) {
    const uint64_t i = Below(static_cast<uint64_t>(pool.names));
    return pool.prefix + static_cast<char>('a' + i) + (i == 1 ? "\xfe" : "");
  }

  std::string Path(const NamePool& pool) {
    std::string p = pool.bases[Below(pool.bases.size())];
    // Shallow paths more often: most parents then exist.
    const uint64_t r = Below(100);
    const int depth = r < 45 ? 1 : r < 80 ? 2 : 3;
    for (int i = 0; i < std::min(depth, pool.max_depth); ++i) {
      if (!p.empty()) p += '/';
      p += Name(pool);
    }
    return p;
  }

  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = rng_();
      for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
    }
    return s;
  }

  size_t Size() {
    const uint64_t r = Below(100);
    if (r < 10) return 0;
    if (r < 60) return 1 + Below(200);
    if (r < 95) return 200 + Below(8000);
    return 8000 + Below(120000);
  }

  Op::Kind Kind(const NamePool& pool) {
    auto weight = [&](const Weighted& w) {
      return w.kind == Op::Kind::kLink && !pool.hard_links ? 0 : w.weight;
    };
    int total = 0;
    for (const Weighted& w : kMix) total += weight(w);
    int pick = static_cast<int>(Below(static_cast<uint64_t>(total)));
    for (const Weighted& w : kMix) {
      if (pick < weight(w)) return w.kind;
      pick -= weight(w);
    }
    return Op::Kind::kCreate;
  }

 private:
  std::mt19937_64 rng_;
};

int Errno(int rc) { return rc < 0 ? errno : 0; }

// user.k0, user.k1 and one xattr name that is not UTF-8.
std::string XattrName(uint64_t i) { return i == 2 ? "user.k\xff" : "user.k" + std::to_string(i); }

}  // namespace

Op MakeOp(uint64_t seed, int worker, int step, const NamePool& pool) {
  Gen g(seed, worker, step);
  Op op;
  op.kind = g.Kind(pool);
  op.path = g.Path(pool);
  static const uint32_t kModes[] = {0644, 0600, 0755, 0700, 0777, 0640, 02755, 01777};
  switch (op.kind) {
    case Op::Kind::kCreate:
      op.mode = g.Below(4) == 0 ? 0600 : 0644;
      op.data = g.Bytes(g.Size());
      break;
    case Op::Kind::kWrite:
    case Op::Kind::kFsync:
      op.offset = g.Below(4) == 0 ? 0 : g.Below(20000);
      op.data = g.Bytes(1 + g.Below(6000));
      break;
    case Op::Kind::kTruncate:
      op.offset = g.Below(3) == 0 ? 0 : g.Below(30000);
      break;
    case Op::Kind::kRename:
    case Op::Kind::kLink:
      op.path2 = g.Path(pool);
      break;
    case Op::Kind::kMkdir:
      op.mode = g.Below(3) == 0 ? 0700 : 0755;
      break;
    case Op::Kind::kSymlink: {
      // Relative targets that stay inside the tree: a sibling name, one
      // below it, or one that is never made.
      static const char* kTargets[] = {"", "/x", "-missing"};
      op.target = g.Name(pool) + kTargets[g.Below(3)];
      break;
    }
    case Op::Kind::kMknod:
      op.mode = (g.Below(2) == 0 ? S_IFIFO : S_IFSOCK) | 0644;
      break;
    case Op::Kind::kChmod:
      op.mode = kModes[g.Below(sizeof(kModes) / sizeof(kModes[0]))];
      break;
    case Op::Kind::kSetXattr:
      op.xattr = XattrName(g.Below(3));
      op.data = g.Bytes(g.Below(3) == 0 ? 0 : 1 + g.Below(100));
      break;
    case Op::Kind::kRemoveXattr:
      op.xattr = XattrName(g.Below(3));
      break;
    case Op::Kind::kUnlink:
    case Op::Kind::kRmdir:
      break;
  }
  return op;
}

int OpOutcome::err() const {
  for (int e : errs) {
    if (e != 0) return e;
  }
  return 0;
}

bool OpOutcome::disconnected() const {
  for (int e : errs) {
    if (e == ENOTCONN || e == ECONNABORTED) return true;
  }
  return false;
}

int StepsOf(const Op& op) {
  switch (op.kind) {
    case Op::Kind::kCreate:
    case Op::Kind::kWrite:
      return 3;
    case Op::Kind::kFsync:
      return 4;
    default:
      return 1;
  }
}

OpOutcome RunOp(const std::string& root, const Op& op, int steps) {
  OpOutcome out;
  const int limit = steps < 0 ? StepsOf(op) : steps;
  // Records a call's result; false once the op must stop.
  auto step = [&](int rc) {
    out.errs.push_back(Errno(rc));
    return rc >= 0 && static_cast<int>(out.errs.size()) < limit;
  };
  if (limit == 0) return out;
  const std::string p = root + "/" + op.path;
  const std::string p2 = root + "/" + op.path2;
  auto write_all = [&](int fd, uint64_t off) -> int {
    size_t done = 0;
    while (done < op.data.size()) {
      ssize_t n = ::pwrite(fd, op.data.data() + done, op.data.size() - done,
                           static_cast<off_t>(off + done));
      if (n < 0) return -1;
      done += static_cast<size_t>(n);
    }
    return 0;
  };
  switch (op.kind) {
    case Op::Kind::kCreate:
    case Op::Kind::kWrite:
    case Op::Kind::kFsync: {
      // O_NONBLOCK: a FIFO opened for writing without a reader is ENXIO on
      // every file system, instead of blocking.
      const int flags = O_WRONLY | O_NONBLOCK | O_CLOEXEC |
                        (op.kind == Op::Kind::kCreate ? O_CREAT | O_TRUNC : 0);
      int fd = ::open(p.c_str(), flags, op.mode);
      if (!step(fd)) {
        if (fd >= 0) ::close(fd);
        return out;
      }
      const uint64_t off = op.kind == Op::Kind::kCreate ? 0 : op.offset;
      if (!step(write_all(fd, off))) {
        ::close(fd);
        return out;
      }
      if (op.kind == Op::Kind::kFsync && !step(::fsync(fd))) {
        ::close(fd);
        return out;
      }
      step(::close(fd));
      return out;
    }
    case Op::Kind::kTruncate:
      step(::truncate(p.c_str(), static_cast<off_t>(op.offset)));
      return out;
    case Op::Kind::kRename:
      step(::rename(p.c_str(), p2.c_str()));
      return out;
    case Op::Kind::kLink:
      step(::link(p.c_str(), p2.c_str()));
      return out;
    case Op::Kind::kUnlink:
      step(::unlink(p.c_str()));
      return out;
    case Op::Kind::kMkdir:
      step(::mkdir(p.c_str(), op.mode));
      return out;
    case Op::Kind::kRmdir:
      step(::rmdir(p.c_str()));
      return out;
    case Op::Kind::kSymlink:
      step(::symlink(op.target.c_str(), p.c_str()));
      return out;
    case Op::Kind::kMknod:
      step(::mknod(p.c_str(), op.mode, 0));
      return out;
    case Op::Kind::kChmod:
      step(::chmod(p.c_str(), op.mode));
      return out;
    case Op::Kind::kSetXattr:
      step(::setxattr(p.c_str(), op.xattr.c_str(), op.data.data(), op.data.size(), 0));
      return out;
    case Op::Kind::kRemoveXattr:
      step(::removexattr(p.c_str(), op.xattr.c_str()));
      return out;
  }
  return out;
}

std::string Describe(const Op& op) {
  std::ostringstream s;
  auto oct = [](uint32_t m) {
    std::ostringstream o;
    o << std::oct << m;
    return o.str();
  };
  switch (op.kind) {
    case Op::Kind::kCreate:
      s << "create " << op.path << " mode " << oct(op.mode) << " with " << op.data.size() << " B";
      break;
    case Op::Kind::kWrite:
      s << "write " << op.data.size() << " B at " << op.offset << " of " << op.path;
      break;
    case Op::Kind::kFsync:
      s << "write " << op.data.size() << " B at " << op.offset << " of " << op.path << ", fsync";
      break;
    case Op::Kind::kTruncate:
      s << "truncate " << op.path << " to " << op.offset;
      break;
    case Op::Kind::kRename:
      s << "rename " << op.path << " -> " << op.path2;
      break;
    case Op::Kind::kLink:
      s << "link " << op.path << " -> " << op.path2;
      break;
    case Op::Kind::kUnlink:
      s << "unlink " << op.path;
      break;
    case Op::Kind::kMkdir:
      s << "mkdir " << op.path << " mode " << oct(op.mode);
      break;
    case Op::Kind::kRmdir:
      s << "rmdir " << op.path;
      break;
    case Op::Kind::kSymlink:
      s << "symlink " << op.path << " -> '" << op.target << "'";
      break;
    case Op::Kind::kMknod:
      s << "mknod " << op.path << ((op.mode & S_IFMT) == S_IFIFO ? " fifo" : " socket");
      break;
    case Op::Kind::kChmod:
      s << "chmod " << oct(op.mode) << " " << op.path;
      break;
    case Op::Kind::kSetXattr:
      s << "setxattr " << op.path << " " << op.xattr << " (" << op.data.size() << " B)";
      break;
    case Op::Kind::kRemoveXattr:
      s << "removexattr " << op.path << " " << op.xattr;
      break;
  }
  return s.str();
}

}  // namespace snapvol::testing
