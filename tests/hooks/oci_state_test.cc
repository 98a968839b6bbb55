#include "hooks/oci_state.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace snapvol::hooks {
namespace {

TEST(OciStateTest, ParsesWhatRuncSends) {
  auto s = ParseState(R"({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":4242,)"
                      R"("bundle":"/run/bundles/c1","annotations":{"snapvol.io/volumes":"a:/a"}})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->id, "c1");
  EXPECT_EQ(s->status, "creating");
  EXPECT_EQ(s->pid, 4242);
  EXPECT_EQ(s->bundle, "/run/bundles/c1");
  EXPECT_EQ(s->annotations.at("snapvol.io/volumes"), "a:/a");
  // poststop: no pid, no annotations.
  auto stopped = ParseState(R"({"id":"c1","status":"stopped","bundle":"/b"})");
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->pid, 0);
}

TEST(OciStateTest, RefusesMalformedStates) {
  for (const char* bad :
       {"", "[]", "{", R"({"bundle":"/b"})", R"({"id":"c","bundle":"relative"})", R"({"id":"c"})",
        R"({"id":"a/b","bundle":"/b"})", R"({"id":7,"bundle":"/b"})",
        R"({"id":"c","bundle":"/b","pid":-1})", R"({"id":"c","bundle":"/b","pid":"1"})",
        R"({"id":"c","bundle":"/b","pid":1e20})",
        R"({"id":"c","bundle":"/b","annotations":{"k":1}})",
        R"({"id":"c","bundle":"/b","annotations":[]})"}) {
    auto s = ParseState(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_TRUE(s.status().Is(core::Code::kInvalidArgument)) << bad;
    }
  }
}

TEST(OciStateTest, ParsesTheConfigsRoot) {
  auto c = ParseConfig(R"({"ociVersion":"1.0.2","root":{"path":"rootfs","readonly":true},)"
                       R"("annotations":{"snapvol.io/volumes":"v:/v"},"process":{"args":["sh"]}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->root_path, "rootfs");
  EXPECT_TRUE(c->root_readonly);
  EXPECT_EQ(c->annotations.at("snapvol.io/volumes"), "v:/v");
  for (const char* bad : {"{}", R"({"root":{}})", R"({"root":"rootfs"})", R"({"root":{"path":1}})",
                          R"({"root":{"path":"r","readonly":"yes"}})"}) {
    EXPECT_FALSE(ParseConfig(bad).ok()) << bad;
  }
}

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/oci-state-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(RootfsTest, RelativeToTheBundleWithSymlinksResolved) {
  std::filesystem::create_directories(dir_ + "/real-rootfs");
  std::filesystem::create_directory_symlink(dir_ + "/real-rootfs", dir_ + "/rootfs");
  auto r = ResolveRootfs(dir_, "rootfs");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, dir_ + "/real-rootfs");
  EXPECT_EQ(*ResolveRootfs("/elsewhere", dir_ + "/rootfs"), dir_ + "/real-rootfs");
  EXPECT_TRUE(ResolveRootfs(dir_, "missing").status().Is(core::Code::kNotFound));
  std::ofstream(dir_ + "/file") << "x";
  EXPECT_TRUE(ResolveRootfs(dir_, "file").status().Is(core::Code::kInvalidArgument));
}

TEST_F(RootfsTest, ReadsAreBounded) {
  const std::string big = dir_ + "/big.json";
  std::ofstream(big) << std::string(4096, ' ');
  EXPECT_TRUE(ReadBounded(big, 4096).ok());
  auto r = ReadBounded(big, 4095);
  EXPECT_TRUE(r.status().Is(core::Code::kInvalidArgument)) << r.status().ToString();
  EXPECT_TRUE(ReadBounded(dir_ + "/missing", 10).status().Is(core::Code::kNotFound));
}

}  // namespace
}  // namespace snapvol::hooks
