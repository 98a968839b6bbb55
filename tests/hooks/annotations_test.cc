#include "hooks/annotations.h"

#include <gtest/gtest.h>

namespace snapvol::hooks {
namespace {

using Map = std::map<std::string, std::string>;

HookRequest Parse(const Map& m) {
  auto r = ParseAnnotations(m);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r.ok() && r->has_value());
  return r.ok() && r->has_value() ? **r : HookRequest{};
}

std::string Error(const Map& m) {
  auto r = ParseAnnotations(m);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_TRUE(r.status().Is(core::Code::kInvalidArgument)) << r.status().ToString();
  return r.status().message();
}

TEST(AnnotationsTest, NoVolumesMeansNothingToDo) {
  auto r = ParseAnnotations({{"io.kubernetes.pod", "x"}});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_FALSE(ParseAnnotations({})->has_value());
}

TEST(AnnotationsTest, VolumesWithDefaults) {
  HookRequest r = Parse({{kAnnotationVolumes, "models:/models:ro, data:/work/data/,cache:/c:rw"}});
  ASSERT_EQ(r.volumes.size(), 3u);
  EXPECT_EQ(r.volumes[0].volume, "models");
  EXPECT_EQ(r.volumes[0].path, "/models");
  EXPECT_TRUE(r.volumes[0].read_only);
  EXPECT_EQ(r.volumes[1].path, "/work/data");
  EXPECT_FALSE(r.volumes[1].read_only);
  EXPECT_FALSE(r.volumes[2].read_only);
  EXPECT_EQ(r.environment, "main");
  EXPECT_EQ(r.commit_interval.count(), 5000);
  EXPECT_FALSE(r.create_if_missing);
  EXPECT_EQ(r.version, 0u);
}

TEST(AnnotationsTest, TheOtherKeys) {
  HookRequest r = Parse({{kAnnotationVolumes, "a:/a"},
                         {kAnnotationEnvironment, "team-1"},
                         {kAnnotationCommitInterval, "500ms"},
                         {kAnnotationCreateIfMissing, "true"}});
  EXPECT_EQ(r.environment, "team-1");
  EXPECT_EQ(r.commit_interval.count(), 500);
  EXPECT_TRUE(r.create_if_missing);
  HookRequest pinned = Parse({{kAnnotationVolumes, "a:/a:rw"}, {kAnnotationVersion, "7"}});
  EXPECT_EQ(pinned.version, 7u);
  EXPECT_TRUE(pinned.volumes[0].read_only);  // a pin is read-only
  EXPECT_EQ(Parse({{kAnnotationVolumes, "a:/a"}, {kAnnotationCommitInterval, "off"}})
                .commit_interval.count(),
            0);
}

TEST(AnnotationsTest, MalformedListsAreRefusedWithTheAnnotationNamed) {
  for (const char* bad :
       {"", ",", "a", "a:", ":/a", "a:/a,", "a:/a,,b:/b", "a:/a:rx", "a:/a:ro:x", "a:relative",
        "a:/", "a:/x/../y", "a:/..", "-a:/a", "a b:/a", "a:/a\nb:/b"}) {
    std::string e = Error({{kAnnotationVolumes, bad}});
    EXPECT_NE(e.find("snapvol.io/volumes"), std::string::npos) << bad << ": " << e;
  }
}

TEST(AnnotationsTest, OnePathPerVolumeAndNoneInsideAnother) {
  EXPECT_NE(Error({{kAnnotationVolumes, "a:/data,b:/data"}}).find("two volumes"),
            std::string::npos);
  EXPECT_NE(Error({{kAnnotationVolumes, "a:/data,b:/data/sub"}}).find("two volumes"),
            std::string::npos);
  EXPECT_NE(Error({{kAnnotationVolumes, "a:/data/sub,b:/data/"}}).find("two volumes"),
            std::string::npos);
  // A shared prefix that is not a parent is fine.
  EXPECT_EQ(Parse({{kAnnotationVolumes, "a:/data,b:/database"}}).volumes.size(), 2u);
}

TEST(AnnotationsTest, BadValuesOfTheOtherKeys) {
  const Map base = {{kAnnotationVolumes, "a:/a"}};
  auto with = [&](const std::string& k, const std::string& v) {
    Map m = base;
    m[k] = v;
    return Error(m);
  };
  EXPECT_NE(with(kAnnotationEnvironment, "../x").find("snapvol.io/environment"), std::string::npos);
  EXPECT_NE(with(kAnnotationEnvironment, "").find("snapvol.io/environment"), std::string::npos);
  EXPECT_NE(with(kAnnotationCommitInterval, "soon").find("invalid duration"), std::string::npos);
  EXPECT_NE(with(kAnnotationCreateIfMissing, "maybe").find("true or false"), std::string::npos);
  EXPECT_NE(with(kAnnotationVersion, "0").find("1 or more"), std::string::npos);
  EXPECT_NE(with(kAnnotationVersion, "-1").find("1 or more"), std::string::npos);
  EXPECT_NE(with(kAnnotationVersion, "3x").find("1 or more"), std::string::npos);
  EXPECT_NE(with("snapvol.io/volume", "typo").find("unknown snapvol annotation"),
            std::string::npos);
  Map pin_and_create = base;
  pin_and_create[kAnnotationVersion] = "2";
  pin_and_create[kAnnotationCreateIfMissing] = "true";
  EXPECT_NE(Error(pin_and_create).find("create-if-missing"), std::string::npos);
}

TEST(AnnotationsTest, SnapvolKeysWithoutVolumesAreAMistake) {
  EXPECT_NE(Error({{kAnnotationEnvironment, "x"}}).find("without snapvol.io/volumes"),
            std::string::npos);
}

TEST(AnnotationsTest, BytesThatAreNotUtf8AreQuotedNotEchoed) {
  std::string e = Error({{kAnnotationVolumes, std::string("a\xff\x01:/x")}});
  EXPECT_EQ(e.find('\xff'), std::string::npos) << e;
}

}  // namespace
}  // namespace snapvol::hooks
