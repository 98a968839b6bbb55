#include "driver/fs/node.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace snapvol::fs {
namespace {

std::unique_ptr<Node> Dir(Ino ino) {
  auto n = std::make_unique<Node>();
  n->ino = ino;
  n->type = NodeType::kDir;
  n->dir = std::make_unique<DirState>();
  return n;
}

TEST(NodeFunctionsTest, PathsFollowFirstNames) {
  auto root = Dir(kRootIno);
  auto a = Dir(2);
  auto b = Dir(3);
  AddName(a.get(), root.get(), "a");
  AddName(b.get(), a.get(), "b");
  EXPECT_EQ(PathOf(root.get()), volume::Path());
  EXPECT_EQ(PathOf(b.get()), (volume::Path{"a", "b"}));
  EXPECT_EQ(ChildPath(b.get(), "c"), (volume::Path{"a", "b", "c"}));
  EXPECT_TRUE(Attached(b.get()));
  RemoveNameOf(a.get(), root.get(), "a");
  EXPECT_FALSE(Attached(b.get()));
}

TEST(NodeFunctionsTest, NamesOfAHardLinkedNode) {
  auto d1 = Dir(2);
  auto d2 = Dir(3);
  Node f;
  AddName(&f, d1.get(), "x");
  AddName(&f, d2.get(), "y");
  AddName(&f, d2.get(), "z");
  EXPECT_EQ(f.names(), 3u);
  // The first name goes: the last further name takes its place.
  RemoveNameOf(&f, d1.get(), "x");
  EXPECT_EQ(f.parent, d2.get());
  EXPECT_EQ(f.name, "z");
  EXPECT_EQ(f.names(), 2u);
  RemoveNamesIn(&f, d2.get());
  EXPECT_EQ(f.names(), 0u);
  EXPECT_EQ(f.parent, nullptr);
}

TEST(NodeFunctionsTest, EntryOfCarriesTheNodesAttributes) {
  Node f;
  f.type = NodeType::kFile;
  f.attr.mode = 0640;
  f.attr.uid = 7;
  f.attr.size = 12;
  f.attr.mtime_ns = 99;
  f.link_id = 5;
  f.entry = std::make_unique<objects::Entry>();
  f.entry->set_name("ignored");
  objects::Xattr* x = f.entry->add_xattrs();
  x->set_name("user.a");
  objects::Entry e = EntryOf(&f);
  EXPECT_EQ(e.type(), objects::FILE);
  EXPECT_EQ(e.mode(), 0640u);
  EXPECT_EQ(e.uid(), 7u);
  EXPECT_EQ(e.size(), 12u);
  EXPECT_EQ(e.mtime_ns(), 99);
  EXPECT_EQ(e.link_id(), 5u);
  EXPECT_TRUE(e.name().empty());
  EXPECT_EQ(e.xattrs_size(), 1);
  // A directory created here has no tree.
  auto d = Dir(2);
  EXPECT_TRUE(EntryOf(d.get()).tree().empty());
  // And back: attributes of a base entry.
  Attr a = AttrOf(e);
  EXPECT_EQ(a.mode, 0640u);
  EXPECT_EQ(a.size, 12u);
  EXPECT_EQ(a.ctime_ns, 99);
  EXPECT_EQ(Fingerprint(e), Fingerprint(EntryOf(&f)));
}

TEST(NodeFunctionsTest, TypesOfMknodModes) {
  EXPECT_EQ(NodeTypeOfMode(S_IFREG | 0644), NodeType::kFile);
  EXPECT_EQ(NodeTypeOfMode(0644), NodeType::kFile);
  EXPECT_EQ(NodeTypeOfMode(S_IFIFO), NodeType::kFifo);
  EXPECT_EQ(NodeTypeOfMode(S_IFSOCK), NodeType::kSocket);
  EXPECT_EQ(NodeTypeOfMode(S_IFCHR), NodeType::kCharDevice);
  EXPECT_EQ(NodeTypeOfMode(S_IFBLK), NodeType::kBlockDevice);
  EXPECT_FALSE(NodeTypeOfMode(S_IFDIR));
  for (NodeType t : {NodeType::kFile, NodeType::kDir, NodeType::kSymlink, NodeType::kFifo}) {
    EXPECT_EQ(NodeTypeOf(EntryTypeOf(t)), t);
  }
}

TEST(NodeFunctionsTest, LivenessOfDetachedNodes) {
  auto root = Dir(kRootIno);
  EXPECT_TRUE(CheckReachable(root.get(), "root").ok());
  Node removed;
  removed.ino = 5;
  EXPECT_TRUE(CheckLive(&removed).ok());
  EXPECT_EQ(CheckReachable(&removed, "file").sys_errno(), ENOENT);
  removed.stale = true;  // replaced by a reload
  EXPECT_EQ(CheckLive(&removed).sys_errno(), ESTALE);
  EXPECT_EQ(CheckReachable(&removed, "file").sys_errno(), ESTALE);
}

}  // namespace
}  // namespace snapvol::fs
