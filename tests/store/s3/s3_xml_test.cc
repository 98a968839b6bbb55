#include "driver/store/s3/s3_xml.h"

#include <gtest/gtest.h>

namespace snapvol::store {
namespace {

using core::Code;

constexpr char kPage[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a&amp;b</Key><LastModified>2026-12-08T03:00:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass>
    <Owner><ID>x</ID><DisplayName>x</DisplayName></Owner></Contents>
  <Contents><Key>p/c</Key><Size>0</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <KeyCount>2</KeyCount><FutureField><Nested>ignored</Nested></FutureField>
</ListBucketResult>)";

TEST(S3XmlTest, ParsesAListPage) {
  auto page = ParseListObjectsV2(kPage);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[1].key, "p/c");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3XmlTest, ParsesTheLastAndAnEmptyPage) {
  auto page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount>"
      "<NextContinuationToken>stale</NextContinuationToken></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "");
}

TEST(S3XmlTest, RefusesMalformedOrIncompletePages) {
  const char* bad[] = {
      "",
      "not xml",
      "<ListBucketResult><IsTruncated>false</IsTruncated>",  // unclosed
      "<ListBucketResult></ListBucketResult>",               // no IsTruncated
      "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",  // no token
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key></Contents>"
      "</ListBucketResult>",
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key/><Size>1</Size>"
      "</Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
      "<Size>-1</Size></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
      "<Size>99999999999999999999999</Size></Contents></ListBucketResult>",
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key>"
      "<Size>1 </Size></Contents></ListBucketResult>",
      "<Error><Code>NoSuchBucket</Code></Error>",  // wrong root
      "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult><Extra/>",
  };
  for (const char* xml : bad) {
    auto page = ParseListObjectsV2(xml);
    EXPECT_EQ(page.status().code(), Code::kCorruption) << xml;
  }
}

TEST(S3XmlTest, RefusesHostileDocuments) {
  // Billion laughs: entity definitions are refused before any expansion.
  std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&lol2;</Key>"
      "<Size>1</Size></Contents></ListBucketResult>";
  auto page = ParseListObjectsV2(laughs);
  EXPECT_EQ(page.status().code(), Code::kCorruption);
  EXPECT_NE(page.status().message().find("document type"), std::string::npos)
      << page.status().ToString();
  // External entity.
  std::string xxe =
      "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
      "<Error><Code>&e;</Code></Error>";
  EXPECT_EQ(ParseS3Error(xxe).status().code(), Code::kCorruption);
  // Deep nesting, a huge field, a huge document.
  std::string deep = "<ListBucketResult>";
  for (int i = 0; i < 100; ++i) deep += "<a>";
  EXPECT_EQ(ParseListObjectsV2(deep).status().code(), Code::kCorruption);
  std::string big_key = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>" +
                        std::string(kMaxXmlFieldBytes + 1, 'k') +
                        "</Key><Size>1</Size></Contents></ListBucketResult>";
  auto big = ParseListObjectsV2(big_key);
  EXPECT_EQ(big.status().code(), Code::kCorruption);
  EXPECT_LT(big.status().message().size(), 300u);
  EXPECT_EQ(ParseListObjectsV2(std::string(kMaxXmlBytes + 1, ' ')).status().code(),
            Code::kCorruption);
  // Foreign bytes in a message are escaped and cut.
  auto root = ParseListObjectsV2("<\xc3\xa9\x1b" + std::string(500, 'x') + "/>");
  EXPECT_EQ(root.status().code(), Code::kCorruption);
  EXPECT_EQ(root.status().message().find('\x1b'), std::string::npos);
  EXPECT_LT(root.status().message().size(), 300u);
}

TEST(S3XmlTest, ParsesErrorBodies) {
  auto e = ParseS3Error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
      "<Message>The key &lt;k&gt; does not exist</Message><BucketName>b</BucketName>"
      "<RequestId>tx1</RequestId><HostId>h</HostId></Error>");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The key <k> does not exist");
  auto rgw = ParseS3Error("<Error><Code>SlowDown</Code><BucketName>b</BucketName></Error>");
  ASSERT_TRUE(rgw.ok());
  EXPECT_EQ(rgw->code, "SlowDown");
  EXPECT_EQ(rgw->message, "");
  for (const char* bad :
       {"", "<Error/>", "<Error><Code></Code></Error>", "<Err><Code>x</Code></Err>",
        "<Error><Code>x</Code>", "<html><body>502 Bad Gateway</body></html>"}) {
    EXPECT_EQ(ParseS3Error(bad).status().code(), Code::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace snapvol::store
