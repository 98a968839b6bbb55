#include "driver/cli/suggest.h"

#include <gtest/gtest.h>

namespace snapvol::cli {
namespace {

TEST(SuggestTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("create", "create"), 0u);
  EXPECT_EQ(EditDistance("crate", "create"), 1u);
  EXPECT_EQ(EditDistance("craete", "create"), 1u);  // a swap is one edit
  EXPECT_EQ(EditDistance("ls", "list"), 2u);
  EXPECT_EQ(EditDistance("", "rm"), 2u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(SuggestTest, NearestCommandsFirst) {
  const std::vector<std::string> verbs = {"create", "delete", "list", "ls",  "put",
                                          "get",    "rm",     "cp",   "log", "rename"};
  EXPECT_EQ(Suggest("crate", verbs), std::vector<std::string>{"create"});
  EXPECT_EQ(Suggest("lst", verbs), (std::vector<std::string>{"list", "ls"}));
  EXPECT_EQ(Suggest("renam", verbs), std::vector<std::string>{"rename"});
  EXPECT_EQ(Suggest("gte", verbs), (std::vector<std::string>{"get"}));
  EXPECT_TRUE(Suggest("frobnicate", verbs).empty());
  EXPECT_TRUE(Suggest("", verbs).empty());
  EXPECT_TRUE(Suggest("x", verbs).empty());
  // Prefixes count as near.
  EXPECT_EQ(Suggest("del", verbs), std::vector<std::string>{"delete"});
  EXPECT_LE(Suggest("l", {"la", "lb", "lc", "ld"}).size(), 3u);
}

}  // namespace
}  // namespace snapvol::cli
