#include "driver/csi/tenancy.h"

#include <gtest/gtest.h>

#include "tests/store/temp_dir.h"

namespace snapvol::csi {
namespace {

using core::Code;

TEST(TenancyTest, ByDefaultANamespaceReachesItsOwnEnvironmentOnly) {
  TenancyPolicy policy;
  EXPECT_TRUE(policy.CheckInline("team-a", "team-a", true).ok());
  EXPECT_TRUE(policy.CheckInline("team-a", "team-b", false).Is(Code::kPermissionDenied));
  EXPECT_TRUE(policy.CheckInline("team-a", "main", false).Is(Code::kPermissionDenied));
  EXPECT_TRUE(TenancyPolicy::MayCreateEnvironment("team-a", "team-a"));
  EXPECT_FALSE(TenancyPolicy::MayCreateEnvironment("team-a", "team-b"));
}

TEST(TenancyTest, NamespaceAndWildcardRulesAddEnvironments) {
  auto p = TenancyPolicy::Parse(R"(
inlineVolumes:
  ml:
    environments: [models, checkpoints]
    createIfMissing: true
  "*":
    environments: [public]
    createIfMissing: false
  quiet:
)",
                                "t.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->CheckInline("ml", "models", false).ok());
  EXPECT_TRUE(p->CheckInline("ml", "checkpoints", true).ok());  // its own rule allows creating
  EXPECT_TRUE(p->CheckInline("ml", "public", false).ok());
  EXPECT_TRUE(p->CheckInline("other", "public", false).ok());
  EXPECT_TRUE(p->CheckInline("other", "public", true).Is(Code::kPermissionDenied));
  EXPECT_TRUE(p->CheckInline("other", "other", true).Is(Code::kPermissionDenied));
  EXPECT_TRUE(p->CheckInline("other", "models", false).Is(Code::kPermissionDenied));
  EXPECT_TRUE(p->CheckInline("quiet", "quiet", false).ok());
}

TEST(TenancyTest, EmptyFileIsTheDefault) {
  for (const char* text : {"", "inlineVolumes:\n", "# nothing\n"}) {
    auto p = TenancyPolicy::Parse(text, "t.yaml");
    ASSERT_TRUE(p.ok()) << text << ": " << p.status().ToString();
    EXPECT_TRUE(p->CheckInline("a", "b", false).Is(Code::kPermissionDenied));
  }
}

TEST(TenancyTest, BadFilesNameFileLineAndColumn) {
  struct Case {
    const char* text;
    const char* where;
    const char* says;
  };
  const Case cases[] = {
      {"inline:\n  a: {}\n", "t.yaml:1:1", "unknown key 'inline'"},
      {"inlineVolumes:\n  a:\n    environment: [x]\n", "t.yaml:3:5", "unknown key 'environment'"},
      {"inlineVolumes:\n  a:\n    environments: x\n", "t.yaml:3:19", "must be a list"},
      {"inlineVolumes:\n  a:\n    environments: [ok, \"bad name\"]\n", "t.yaml:3:24",
       "invalid environment name"},
      {"inlineVolumes:\n  Bad_NS!:\n", "t.yaml:2:3", "invalid namespace name"},
      {"inlineVolumes:\n  a:\n    createIfMissing: perhaps\n", "t.yaml:3:22", "true or false"},
      {"inlineVolumes: [a, b]\n", "t.yaml:1:16", "must map namespaces"},
      {"inlineVolumes:\n  a: {environments: [x]\n", "t.yaml:", ""},  // unterminated flow map
      {"- just\n- a list\n", "t.yaml:1:1", "must be a mapping"},
  };
  for (const Case& c : cases) {
    auto p = TenancyPolicy::Parse(c.text, "t.yaml");
    ASSERT_TRUE(p.status().Is(Code::kInvalidArgument)) << c.text;
    EXPECT_NE(p.status().message().find(c.where), std::string::npos)
        << c.text << " -> " << p.status().message();
    EXPECT_NE(p.status().message().find(c.says), std::string::npos)
        << c.text << " -> " << p.status().message();
  }
}

TEST(TenancyTest, LoadReadsAFileAndNamesAMissingOne) {
  store::TempDir dir;
  const std::string path = dir.path() + "/tenancy.yaml";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("inlineVolumes:\n  a:\n    environments: [b]\n", f);
  std::fclose(f);
  auto p = TenancyPolicy::Load(path);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->CheckInline("a", "b", false).ok());
  auto missing = TenancyPolicy::Load(dir.path() + "/absent.yaml");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("absent.yaml"), std::string::npos);
}

}  // namespace
}  // namespace snapvol::csi
