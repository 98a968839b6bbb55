#include "driver/csi/volume_attributes.h"

#include <gtest/gtest.h>

namespace snapvol::csi {
namespace {

using core::Code;

TEST(VolumeAttributesTest, CreateParametersDefaultToMain) {
  auto p = ParseCreateParameters({}, "volume 'v'");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->environment, "main");
  EXPECT_FALSE(p->inode_limit);
}

TEST(VolumeAttributesTest, EnvironmentFromNamespaceUsesThePvcNamespace) {
  auto p = ParseCreateParameters({{"environmentFromNamespace", "true"},
                                  {"csi.storage.k8s.io/pvc/namespace", "team-a"},
                                  {"csi.storage.k8s.io/pvc/name", "data"},
                                  {"csi.storage.k8s.io/pv/name", "pvc-1"}},
                                 "volume 'v'");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->environment, "team-a");
}

TEST(VolumeAttributesTest, CreateParameterErrorsNameTheProblem) {
  auto missing_ns = ParseCreateParameters({{"environmentFromNamespace", "true"}}, "volume 'v'");
  ASSERT_TRUE(missing_ns.status().Is(Code::kInvalidArgument));
  EXPECT_NE(missing_ns.status().message().find("--extra-create-metadata"), std::string::npos);
  auto both = ParseCreateParameters({{"environmentFromNamespace", "true"},
                                     {"environment", "x"},
                                     {"csi.storage.k8s.io/pvc/namespace", "y"}},
                                    "volume 'v'");
  EXPECT_TRUE(both.status().Is(Code::kInvalidArgument));
  auto unknown = ParseCreateParameters({{"enviroment", "x"}}, "volume 'v'");
  ASSERT_TRUE(unknown.status().Is(Code::kInvalidArgument));
  EXPECT_NE(unknown.status().message().find("'enviroment'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("volume 'v'"), std::string::npos);
  EXPECT_TRUE(ParseCreateParameters({{"environment", "bad name"}}, "v")
                  .status()
                  .Is(Code::kInvalidArgument));
  EXPECT_TRUE(
      ParseCreateParameters({{"inodeLimit", "0"}}, "v").status().Is(Code::kInvalidArgument));
  auto limit = ParseCreateParameters({{"inodeLimit", "1000"}, {"commitInterval", "2s"}}, "v");
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(*limit->inode_limit, 1000u);
  EXPECT_EQ(*limit->commit_interval, "2s");
}

TEST(VolumeAttributesTest, Durations) {
  EXPECT_EQ(*ParseDuration("5s", "d"), std::chrono::milliseconds(5000));
  EXPECT_EQ(*ParseDuration("500ms", "d"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDuration("2m", "d"), std::chrono::milliseconds(120000));
  EXPECT_EQ(*ParseDuration("10", "d"), std::chrono::milliseconds(10000));
  EXPECT_EQ(*ParseDuration("0", "d"), std::chrono::milliseconds(0));
  for (const char* bad : {"", "s", "5x", "-1s", "1.5s"}) {
    EXPECT_FALSE(ParseDuration(bad, "d").ok()) << bad;
  }
}

TEST(VolumeAttributesTest, PersistentPublishAttributes) {
  auto a = ParsePublishAttributes({{"name", "v"},
                                   {"environment", "main"},
                                   {"commitInterval", "1s"},
                                   {"csi.storage.k8s.io/pod.name", "p"},
                                   {"csi.storage.k8s.io/pod.namespace", "ns"},
                                   {"csi.storage.k8s.io/serviceAccount.name", "default"}},
                                  "volume 'main/v'");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_FALSE(a->ephemeral);
  EXPECT_EQ(*a->commit_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(a->pod_name, "p");
  EXPECT_FALSE(a->read_only);
}

TEST(VolumeAttributesTest, EphemeralVolumesMustNameTheirVolume) {
  auto missing =
      ParsePublishAttributes({{"csi.storage.k8s.io/ephemeral", "true"}}, "volume 'csi-1'");
  ASSERT_TRUE(missing.status().Is(Code::kInvalidArgument));
  EXPECT_NE(missing.status().message().find("volumeAttributes.name"), std::string::npos);
  auto ok = ParsePublishAttributes({{"csi.storage.k8s.io/ephemeral", "true"},
                                    {"name", "scratch"},
                                    {"environmentFromNamespace", "true"},
                                    {"csi.storage.k8s.io/pod.namespace", "team-b"},
                                    {"createIfMissing", "true"},
                                    {"version", "4"}},
                                   "volume 'csi-1'");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->ephemeral);
  EXPECT_EQ(ok->environment, "team-b");
  EXPECT_TRUE(ok->create_if_missing);
  EXPECT_EQ(*ok->version, 4u);
  EXPECT_TRUE(ok->read_only);  // a pinned version is read-only
  // The environment defaults to the pod's namespace, never to "main".
  auto defaulted = ParsePublishAttributes({{"csi.storage.k8s.io/ephemeral", "true"},
                                           {"csi.storage.k8s.io/pod.namespace", "team-c"},
                                           {"name", "scratch"}},
                                          "v");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->environment, "team-c");
  // Without the pod's namespace (podInfoOnMount off) an inline volume has no
  // environment it may safely use.
  auto no_namespace =
      ParsePublishAttributes({{"csi.storage.k8s.io/ephemeral", "true"}, {"name", "scratch"}}, "v");
  ASSERT_TRUE(no_namespace.status().Is(Code::kFailedPrecondition));
  EXPECT_NE(no_namespace.status().message().find("podInfoOnMount"), std::string::npos);
}

TEST(VolumeAttributesTest, UnknownPlainKeysAreRefusedNamespacedOnesIgnored) {
  EXPECT_TRUE(
      ParsePublishAttributes({{"readonly", "true"}}, "v").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(ParsePublishAttributes({{"example.com/whatever", "x"}}, "v").ok());
  EXPECT_TRUE(ParsePublishAttributes({{"version", "0"}}, "v").status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(
      ParsePublishAttributes({{"readOnly", "maybe"}}, "v").status().Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace snapvol::csi
