#include "driver/cli/format.h"

#include <gtest/gtest.h>

namespace snapvol::cli {
namespace {

TEST(FormatTest, HumanSize) {
  EXPECT_EQ(HumanSize(0), "0 B");
  EXPECT_EQ(HumanSize(1023), "1023 B");
  EXPECT_EQ(HumanSize(1024), "1.0 KiB");
  EXPECT_EQ(HumanSize(1536), "1.5 KiB");
  EXPECT_EQ(HumanSize(5ull << 30), "5.0 GiB");
}

TEST(FormatTest, Rfc3339IsUtcWithNanoseconds) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(Rfc3339(1700000000123456789ll), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(Rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(FormatTest, SummaryString) {
  objects::ChangeSummary s;
  s.set_added(2);
  s.set_modified(1);
  s.set_bytes_written(2048);
  EXPECT_EQ(SummaryString(s), "+2 ~1 -0, 2.0 KiB written");
  s.set_renamed(3);
  EXPECT_EQ(SummaryString(s), "+2 ~1 -0 >3, 2.0 KiB written");
}

TEST(FormatTest, AuthorString) {
  objects::Author a;
  a.set_user("ana");
  a.set_host("node1");
  a.set_tool("cli");
  EXPECT_EQ(AuthorString(a), "ana@node1 (cli)");
  a.set_pod("web-0");
  a.set_pod_namespace("prod");
  a.set_container("app");
  a.set_tool("mount");
  EXPECT_EQ(AuthorString(a), "ana@node1 pod prod/web-0 container app (mount)");
}

TEST(FormatTest, DumpJsonNeverThrowsOnInvalidUtf8) {
  objects::Entry e;
  e.set_name("bad\xff name");
  e.set_type(objects::FILE);
  std::string out = DumpJson(EntryJson(e, "/bad\xff name"));
  EXPECT_NE(out.find("\"type\": \"file\""), std::string::npos);
}

}  // namespace
}  // namespace snapvol::cli
