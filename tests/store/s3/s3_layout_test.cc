#include "driver/store/s3/s3_layout.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace snapvol::store {
namespace {

using core::Code;

TEST(S3LayoutTest, KeysOfObjectsAndFormat) {
  auto layout = S3Layout::ForPrefix("team/a");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  EXPECT_EQ(layout->prefix(), "team/a/");
  Hash id = Hash::Of("x");
  std::string hex = id.Hex();
  EXPECT_EQ(layout->FormatKey(), "team/a/FORMAT");
  EXPECT_EQ(layout->ObjectKey(id, ObjectKind::kChunk),
            "team/a/objects/chunk/" + hex.substr(0, 2) + "/" + hex);
  EXPECT_EQ(layout->ObjectKey(id, ObjectKind::kIndex),
            "team/a/objects/index/" + hex.substr(0, 2) + "/" + hex);
  EXPECT_EQ(layout->KindPrefix(ObjectKind::kTree), "team/a/objects/tree/");
  EXPECT_EQ(layout->KindPrefix(ObjectKind::kCommit), "team/a/objects/commit/");
  EXPECT_EQ(S3Layout::ForPrefix("")->ObjectKey(id, ObjectKind::kTree),
            "objects/tree/" + hex.substr(0, 2) + "/" + hex);
  EXPECT_EQ(S3Layout::ForPrefix("p/")->prefix(), "p/");
}

TEST(S3LayoutTest, ObjectKeysParseBackOnlyForTheirKind) {
  auto layout = *S3Layout::ForPrefix("p");
  Hash id = Hash::Of("y");
  std::string key = layout.ObjectKey(id, ObjectKind::kChunk);
  EXPECT_EQ(layout.ParseObjectKey(key, ObjectKind::kChunk), id);
  EXPECT_EQ(layout.ParseObjectKey(key, ObjectKind::kTree), std::nullopt);
  std::string hex = id.Hex();
  for (std::string bad : {
           "p/objects/chunk/" + hex.substr(0, 2) + "/" + hex + "x",
           "p/objects/chunk/" + hex,
           "p/objects/chunk/00/" + hex,  // wrong fan-out directory
           "q/objects/chunk/" + hex.substr(0, 2) + "/" + hex,
           "p/objects/chunk/" + hex.substr(0, 2) + "/" + std::string(64, 'G'),
           "p/objects/chunk/AB/" + std::string(64, 'A'),  // upper case is not ours
           std::string("p/FORMAT"),
       }) {
    EXPECT_EQ(layout.ParseObjectKey(bad, ObjectKind::kChunk), std::nullopt) << bad;
  }
}

TEST(S3LayoutTest, BadPrefixesAreRefused) {
  for (const char* bad : {"/abs", "a//b", "a/./b", "../a", "a b", "a\nb", "caf\xc3\xa9"}) {
    EXPECT_EQ(S3Layout::ForPrefix(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(S3LayoutTest, FormatCheck) {
  EXPECT_EQ(S3Layout::FormatContent(), "snapvol-s3-store 1\n");
  EXPECT_TRUE(S3Layout::CheckFormat("snapvol-s3-store 1\r\n").ok());
  auto s = S3Layout::CheckFormat("snapvol-s3-store 2\n");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("'snapvol-s3-store 2'"), std::string::npos) << s.message();
  EXPECT_EQ(S3Layout::CheckFormat(std::string(1000, '\x1b')).message().find('\x1b'),
            std::string::npos);
}

// docs/storage-format.md writes the same layout down.
TEST(S3LayoutTest, StorageFormatDocumentNamesTheKeys) {
  std::ifstream in(std::string(SNAPVOL_SOURCE_DIR) + "/docs/storage-format.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  EXPECT_NE(doc.find("## 6. S3 layout (first slice)"), std::string::npos);
  for (const char* want : {"<prefix>FORMAT", "<prefix>objects/<kind>/<xx>/<64 hex>",
                           "`snapvol-s3-store 1`", "`chunk`, `index`, `tree`, `commit`"}) {
    EXPECT_NE(doc.find(want), std::string::npos) << want;
  }
}

}  // namespace
}  // namespace snapvol::store
