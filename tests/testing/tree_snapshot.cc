#include "tests/testing/tree_snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "driver/core/hash.h"

namespace snapvol::testing {
namespace {

char TypeOf(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG:
      return 'f';
    case S_IFDIR:
      return 'd';
    case S_IFLNK:
      return 'l';
    case S_IFIFO:
      return 'p';
    case S_IFSOCK:
      return 's';
    case S_IFCHR:
      return 'c';
    case S_IFBLK:
      return 'b';
  }
  return '?';
}

std::string Err(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string ContentHash(const std::string& path, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    *error = Err("open");
    return "";
  }
  core::Sha256 h;
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      *error = Err("read");
      break;
    }
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return h.Finish().Hex();
}

void Xattrs(const std::string& path, TreeEntry* e) {
  std::string names(4096, '\0');
  ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
  if (n < 0) {
    if (errno != ENOTSUP) e->error = Err("listxattr");
    return;
  }
  names.resize(static_cast<size_t>(n));
  for (size_t i = 0; i < names.size();) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.rfind("user.", 0) != 0) continue;
    std::string value(65536, '\0');
    ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (v < 0) {
      e->error = Err("getxattr " + name);
      continue;
    }
    value.resize(static_cast<size_t>(v));
    e->xattrs[name] = value;
  }
}

void Walk(const std::string& root, const std::string& rel, const SnapshotOptions& options,
          TreeSnapshot* out, std::map<std::pair<dev_t, ino_t>, std::vector<std::string>>* inodes) {
  const std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    (*out)[rel.empty() ? "." : rel].error = Err("opendir");
    return;
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(name);
    errno = 0;
  }
  if (errno != 0) (*out)[rel.empty() ? "." : rel].error = Err("readdir");
  ::closedir(d);
  for (const std::string& name : names) {
    const std::string r = rel.empty() ? name : rel + "/" + name;
    if (options.keep && !options.keep(r)) continue;
    const std::string p = root + "/" + r;
    TreeEntry& e = (*out)[r];
    if (e.type != '?') e.error = "listed twice";
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) {
      e.error = Err("lstat");
      continue;
    }
    e.type = TypeOf(st.st_mode);
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.nlink = st.st_nlink;
    if (e.type == 'f' || e.type == 'l') e.size = static_cast<unsigned long long>(st.st_size);
    if (e.type == 'c' || e.type == 'b') e.rdev = st.st_rdev;
    if (e.type == 'd' && !options.dir_nlink) e.nlink = 0;
    if (e.type != 'd' && !options.file_nlink) e.nlink = 0;
    if (e.type == 'l') {
      std::string t(4096, '\0');
      ssize_t n = ::readlink(p.c_str(), t.data(), t.size());
      if (n < 0) {
        e.error = Err("readlink");
      } else {
        t.resize(static_cast<size_t>(n));
        e.target = t;
      }
    }
    if (e.type == 'f') e.content = ContentHash(p, &e.error);
    if (e.type == 'f' || e.type == 'd') Xattrs(p, &e);
    if (e.type != 'd') (*inodes)[{st.st_dev, st.st_ino}].push_back(r);
    if (e.type == 'd') Walk(root, r, options, out, inodes);
  }
}

std::string Show(const TreeEntry& e) {
  std::ostringstream s;
  s << e.type << " mode " << std::oct << e.mode << std::dec << " " << e.uid << ":" << e.gid
    << " nlink " << e.nlink;
  if (e.type == 'f' || e.type == 'l') s << " size " << e.size;
  if (e.type == 'l') s << " -> '" << e.target << "'";
  if (e.type == 'f') s << " sha " << e.content.substr(0, 12);
  if (!e.links.empty()) s << " links [" << e.links << "]";
  for (const auto& [k, v] : e.xattrs) s << " " << k << "(" << v.size() << " B)";
  if (!e.error.empty()) s << " ERROR " << e.error;
  return s.str();
}

bool Same(const TreeEntry& a, const TreeEntry& b) {
  return a.type == b.type && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid &&
         a.size == b.size && a.nlink == b.nlink && a.rdev == b.rdev && a.target == b.target &&
         a.xattrs == b.xattrs && a.content == b.content && a.links == b.links && a.error.empty() &&
         b.error.empty();
}

}  // namespace

TreeSnapshot Snapshot(const std::string& root, const SnapshotOptions& options) {
  TreeSnapshot out;
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> inodes;
  // A snapvol mount counts the names of a hard-linked inode that it has
  // looked up (docs/mount.md "Link counts"): a first walk looks up every
  // name, the second one is compared.
  Walk(root, "", options, &out, &inodes);
  out.clear();
  inodes.clear();
  Walk(root, "", options, &out, &inodes);
  for (const auto& [ino, paths] : inodes) {
    if (paths.size() < 2) continue;
    for (const std::string& p : paths) {
      std::string others;
      for (const std::string& q : paths) {
        if (q == p) continue;
        if (!others.empty()) others += ",";
        others += q;
      }
      out[p].links = others;
    }
  }
  // Sorted, so that the same set compares equal whatever the listing order.
  for (auto& [path, e] : out) {
    if (e.links.empty()) continue;
    std::vector<std::string> parts;
    std::stringstream in(e.links);
    std::string part;
    while (std::getline(in, part, ',')) parts.push_back(part);
    std::sort(parts.begin(), parts.end());
    e.links.clear();
    for (const std::string& q : parts) e.links += (e.links.empty() ? "" : ",") + q;
  }
  return out;
}

std::vector<std::string> Diff(const TreeSnapshot& expected, const TreeSnapshot& actual,
                              size_t max) {
  std::vector<std::string> out;
  auto add = [&](std::string line) {
    if (out.size() < max)
      out.push_back(std::move(line));
    else if (out.size() == max)
      out.push_back("...");
  };
  for (const auto& [path, e] : expected) {
    auto it = actual.find(path);
    if (it == actual.end()) {
      add("missing " + path + ": " + Show(e));
    } else if (!Same(e, it->second)) {
      add("differs " + path + ": expected " + Show(e) + "; got " + Show(it->second));
    }
  }
  for (const auto& [path, e] : actual) {
    if (expected.count(path) == 0) add("unexpected " + path + ": " + Show(e));
  }
  return out;
}

TreeSnapshot Union(const TreeSnapshot& a, const TreeSnapshot& b) {
  TreeSnapshot out = a;
  for (const auto& [path, e] : b) {
    auto [it, added] = out.emplace(path, e);
    if (!added && !Same(it->second, e)) it->second.error = "the two sides disagree";
  }
  return out;
}

}  // namespace snapvol::testing
