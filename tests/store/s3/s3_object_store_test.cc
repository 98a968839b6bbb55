// S3ObjectStore without an S3 server: what it makes of answers scripted on
// loopback. The conformance suite and real corruption run against RGW in
// e2e/s3/s3_e2e_test.cc.
#include "driver/store/s3/s3_object_store.h"

#include <gtest/gtest.h>

#include "tests/store/s3/scripted_http_server.h"

namespace snapvol::store {
namespace {

using core::Code;
using Http = ScriptedHttpServer;

constexpr char kSecret[] = "object/store+SECRET";

std::unique_ptr<S3Client> Client(int port) {
  S3ClientOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port);
  o.bucket = "bkt";
  o.credentials = {"AKIDSTORETEST", kSecret};
  o.request_timeout_ms = 2000;
  o.retry.max_attempts = 2;
  o.retry.initial_backoff_ms = 5;
  auto c = S3Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

const std::string kFormat = Http::Reply(200, "OK", "snapvol-s3-store 1\n");

TEST(S3ObjectStoreTest, OpenCreatesFormatIfAbsentAndRefusesAnother) {
  {
    Http server({Http::Reply(404, "Not Found"), Http::Reply(200, "OK")});
    auto store = S3ObjectStore::Open(Client(server.port()), "p");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[1].rfind("PUT /bkt/p/FORMAT ", 0), 0u) << requests[1];
    EXPECT_NE(requests[1].find("If-None-Match: *"), std::string::npos) << requests[1];
  }
  {
    // Another opener created it first: read what it wrote.
    Http server({Http::Reply(404, "Not Found"), Http::Reply(412, "Precondition Failed"), kFormat});
    EXPECT_TRUE(S3ObjectStore::Open(Client(server.port()), "p").ok());
  }
  {
    Http server({Http::Reply(200, "OK", "snapvol-s3-store 9\n")});
    auto store = S3ObjectStore::Open(Client(server.port()), "p");
    EXPECT_EQ(store.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(store.status().message().find("'snapvol-s3-store 9'"), std::string::npos)
        << store.status().ToString();
  }
  EXPECT_EQ(S3ObjectStore::Open(Client(1), "/abs").status().code(), Code::kInvalidArgument);
}

TEST(S3ObjectStoreTest, BytesThatDoNotHashToTheNameAreCorruption) {
  std::string data = "the real bytes";
  Hash id = Hash::Of(data);
  Http server({kFormat, Http::Reply(200, "OK", "the fake bytes")});
  auto store = std::move(S3ObjectStore::Open(Client(server.port()), "")).value();
  auto got = store->Get(id, ObjectKind::kTree);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_NE(got.status().message().find(id.Hex()), std::string::npos) << got.status().ToString();
  EXPECT_NE(got.status().message().find("s3://bkt/objects/tree/"), std::string::npos)
      << got.status().ToString();
}

TEST(S3ObjectStoreTest, PutSkipsPresentObjectsAndTreats412AsDone) {
  std::string data = "twelve bytes";
  Http server({kFormat,
               // present with the right size: nothing sent
               "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n",
               // absent, then created by someone else meanwhile
               Http::Reply(404, "Not Found"), Http::Reply(412, "Precondition Failed"),
               // present with the wrong size: overwritten without condition
               "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n",
               Http::Reply(200, "OK")});
  auto store = std::move(S3ObjectStore::Open(Client(server.port()), "")).value();
  Hash id = Hash::Of(data);
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  ASSERT_TRUE(store->Put(id, ObjectKind::kChunk, data).ok());
  auto r = server.requests();
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[1].rfind("HEAD ", 0), 0u) << r[1];
  EXPECT_EQ(r[3].rfind("PUT ", 0), 0u) << r[3];
  EXPECT_NE(r[3].find("If-None-Match: *"), std::string::npos) << r[3];
  EXPECT_EQ(r[5].rfind("PUT ", 0), 0u) << r[5];
  EXPECT_EQ(r[5].find("If-None-Match"), std::string::npos) << r[5];
  EXPECT_EQ(store->Put(Hash::Of("other"), ObjectKind::kChunk, data).code(), Code::kInvalidArgument);
}

TEST(S3ObjectStoreTest, UnreachableServerIsUnavailableWithoutCredentials) {
  int port = 0;
  int fd = ListeningSocket(&port);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto store = S3ObjectStore::Open(Client(port), "p");
  EXPECT_EQ(store.status().code(), Code::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().ToString().find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace snapvol::store
