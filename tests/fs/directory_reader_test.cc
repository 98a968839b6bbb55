#include "driver/fs/directory_reader.h"

#include <gtest/gtest.h>

#include "tests/fs/view_fixture.h"

namespace snapvol::fs {
namespace {

using testing::ViewFixture;
using DirectoryReaderTest = ViewFixture;

struct Listed {
  std::vector<std::string> names;
  std::vector<uint64_t> next;
};

// Lists `dir` from `off` in batches of `batch` entries.
Listed List(View& v, Handle* h, uint64_t off, size_t batch, bool plus = false) {
  Listed out;
  for (;;) {
    size_t got = 0;
    Status s = DirectoryReader(&v).Read(h, off, plus, [&](const DirEntryOut& e) {
      if (got == batch) return false;
      ++got;
      out.names.push_back(e.name);
      out.next.push_back(e.next_off);
      off = e.next_off;
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (got == 0) return out;
  }
}

// Base names and local ones in name order; whiteouts hidden; "." and ".."
// first; offsets are positions.
TEST_F(DirectoryReaderTest, MergesTheBaseWithLocalNamesInOrder) {
  Seed({{"b", "B"}, {"d", "D"}, {"f", "F"}});
  MountServer& s = Server();
  View& v = s.view();
  Create(v, kRootIno, "a", "A");
  Create(v, kRootIno, "e", "E");
  ASSERT_TRUE(v.Unlink(kRootIno, "d", Cred()).ok());
  auto h = v.OpenDir(kRootIno, Cred());
  ASSERT_TRUE(h.ok());
  Listed all = List(v, *h, 0, 2);
  EXPECT_EQ(all.names, (std::vector<std::string>{".", "..", "a", "b", "e", "f"}));
  EXPECT_EQ(all.next, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  // A seek restarts and skips to the position.
  Listed tail = List(v, *h, 4, 10);
  EXPECT_EQ(tail.names, (std::vector<std::string>{"e", "f"}));
  v.ReleaseDir(*h);
}

// readdirplus references what it returns (the kernel forgets it later) and
// nothing it could not hand out.
TEST_F(DirectoryReaderTest, PlusReferencesOnlyEntriesHandedOut) {
  Seed({{"x", "X"}, {"y", "Y"}});
  MountServer& s = Server();
  View& v = s.view();
  auto h = v.OpenDir(kRootIno, Cred());
  ASSERT_TRUE(h.ok());
  std::vector<Ino> referenced;
  Status st = DirectoryReader(&v).Read(*h, 0, true, [&](const DirEntryOut& e) {
    if (e.name == "y") return false;  // no room
    if (e.plus) referenced.push_back(e.plus->ino);
    return true;
  });
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(referenced.size(), 1u);
  v.ReleaseDir(*h);
  const size_t nodes = v.node_count();
  v.Forget(referenced[0], 1);
  EXPECT_EQ(v.node_count(), nodes - 1);  // x was referenced once, y never kept
}

}  // namespace
}  // namespace snapvol::fs
