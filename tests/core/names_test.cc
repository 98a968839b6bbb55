#include "driver/core/names.h"

#include <gtest/gtest.h>

namespace snapvol::core {
namespace {

TEST(NamesTest, AcceptsValidNames) {
  for (const std::string& n : {std::string("a"), std::string("main"), std::string("my-vol"),
                               std::string("v1.2_x"), std::string("0abc"), std::string(63, 'a')}) {
    EXPECT_TRUE(ValidateName("volume", n).ok()) << n;
  }
}

TEST(NamesTest, RejectsInvalidNamesAndPrintsPattern) {
  for (const char* n : {"", "-a", ".hidden", "..", "a/b", "a b", "ü", "a\n"}) {
    Status s = ValidateName("volume", n);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << n;
    EXPECT_NE(s.message().find(kNamePattern), std::string::npos);
  }
  EXPECT_FALSE(ValidateName("environment", std::string(64, 'a')).ok());
  EXPECT_NE(ValidateName("environment", "").message().find("environment"), std::string::npos);
}

TEST(NamesTest, SplitsPaths) {
  auto p = SplitVolumePath("/a//b/./c/");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitVolumePath("/")->empty());
  EXPECT_TRUE(SplitVolumePath("")->empty());
  EXPECT_EQ(JoinVolumePath(*p), "/a/b/c");
  EXPECT_EQ(JoinVolumePath({}), "/");
}

TEST(NamesTest, RejectsEscapingPaths) {
  for (const char* p : {"..", "/..", "a/../b", "a/..", "../etc/passwd"}) {
    EXPECT_EQ(SplitVolumePath(p).status().code(), Code::kInvalidArgument) << p;
  }
  EXPECT_FALSE(SplitVolumePath(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(SplitVolumePath(std::string(256, 'x')).ok());
  EXPECT_FALSE(SplitVolumePath(std::string(5000, '/')).ok());
  EXPECT_TRUE(SplitVolumePath("a..b/..c").ok());
}

TEST(NamesTest, ValidatesComponents) {
  EXPECT_TRUE(ValidateComponent("x.txt").ok());
  EXPECT_FALSE(ValidateComponent("").ok());
  EXPECT_FALSE(ValidateComponent(".").ok());
  EXPECT_FALSE(ValidateComponent("..").ok());
  EXPECT_FALSE(ValidateComponent("a/b").ok());
}

}  // namespace
}  // namespace snapvol::core
