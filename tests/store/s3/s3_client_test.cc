// S3Client without an S3 server: argument checks, a closed port, a peer
// that never answers, and a scripted loopback HTTP responder for retries,
// status mapping and what requests carry. The real-server tests are in
// e2e/s3/s3_e2e_test.cc.
#include "driver/store/s3/s3_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "tests/store/s3/scripted_http_server.h"

namespace snapvol::store {
namespace {

using core::Code;
using core::Status;
using Clock = std::chrono::steady_clock;

constexpr char kAccess[] = "AKIDUNITTESTACCESS";
constexpr char kSecret[] = "unit/test+SECRET/never-shown";

S3ClientOptions Options(int port) {
  S3ClientOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port);
  o.bucket = "bkt";
  o.credentials = {kAccess, kSecret};
  o.connect_timeout_ms = 1000;
  o.request_timeout_ms = 2000;
  o.retry.max_attempts = 3;
  o.retry.initial_backoff_ms = 10;
  o.retry.max_backoff_ms = 20;
  return o;
}

std::unique_ptr<S3Client> NewClient(const S3ClientOptions& o) {
  auto c = S3Client::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

void ExpectNoCredentials(const core::Status& s) {
  EXPECT_EQ(s.ToString().find(kSecret), std::string::npos) << s.ToString();
  EXPECT_EQ(s.ToString().find(kAccess), std::string::npos) << s.ToString();
}

TEST(S3ClientTest, CreateChecksItsOptions) {
  auto bad = [](auto edit) {
    S3ClientOptions o = Options(1);
    edit(o);
    auto c = S3Client::Create(o);
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    ExpectNoCredentials(c.status());
  };
  bad([](S3ClientOptions& o) { o.endpoint = "127.0.0.1:80"; });
  bad([](S3ClientOptions& o) { o.endpoint = "ftp://host"; });
  bad([](S3ClientOptions& o) { o.endpoint = "http://host/path"; });
  bad([](S3ClientOptions& o) { o.endpoint = std::string("http://") + kAccess + ":x@host"; });
  bad([](S3ClientOptions& o) { o.bucket = ""; });
  bad([](S3ClientOptions& o) { o.region = ""; });
  bad([](S3ClientOptions& o) { o.credentials.secret_access_key = ""; });
  bad([](S3ClientOptions& o) { o.credentials.access_key_id = ""; });
  EXPECT_TRUE(S3Client::Create(Options(1)).ok());
}

TEST(S3ClientTest, ClosedPortIsUnavailableAfterBoundedAttempts) {
  int port = 0;
  int fd = ListeningSocket(&port);
  ASSERT_GE(fd, 0);
  ::close(fd);  // nothing listens there now: connection refused
  auto client = NewClient(Options(port));
  auto start = Clock::now();
  auto got = client->GetObject("some/key");
  EXPECT_EQ(got.status().code(), Code::kUnavailable) << got.status().ToString();
  EXPECT_NE(got.status().message().find("after 3 attempts"), std::string::npos)
      << got.status().ToString();
  EXPECT_NE(got.status().message().find("s3://bkt/some/key"), std::string::npos);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  ExpectNoCredentials(got.status());
  Status put = client->PutObject("k", "data", PutCondition::kIfAbsent);
  EXPECT_EQ(put.code(), Code::kUnavailable);
  ExpectNoCredentials(put);
}

TEST(S3ClientTest, SilentPeerHitsTheDeadlineOfEveryAttempt) {
  int port = 0;
  int fd = ListeningSocket(&port);  // the kernel accepts; nobody ever answers
  ASSERT_GE(fd, 0);
  S3ClientOptions o = Options(port);
  o.request_timeout_ms = 300;
  o.retry.max_attempts = 2;
  auto client = NewClient(o);
  auto start = Clock::now();
  auto got = client->HeadObject("k");
  auto took = Clock::now() - start;
  ::close(fd);
  EXPECT_EQ(got.status().code(), Code::kUnavailable) << got.status().ToString();
  EXPECT_NE(got.status().message().find("timed out"), std::string::npos) << got.status().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(600));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(S3ClientTest, RetriesSlowDownAndServerErrorsThenSucceeds) {
  ScriptedHttpServer server({
      ScriptedHttpServer::Reply(503, "Slow Down", "<Error><Code>SlowDown</Code></Error>"),
      ScriptedHttpServer::Reply(500, "Internal Server Error"),
      ScriptedHttpServer::Reply(200, "OK", "hello"),
  });
  auto client = NewClient(Options(server.port()));
  auto got = client->GetObject("a/b c");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "hello");
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  const std::string& r = requests[0];
  EXPECT_EQ(r.rfind("GET /bkt/a/b%20c HTTP/1.1\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("x-amz-content-sha256: UNSIGNED-PAYLOAD"), std::string::npos) << r;
  EXPECT_NE(r.find("Authorization: AWS4-HMAC-SHA256 Credential=" + std::string(kAccess) + "/"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("/us-east-1/s3/aws4_request"), std::string::npos) << r;
  EXPECT_EQ(r.find(kSecret), std::string::npos) << "the secret never goes on the wire";
}

// libcurl signs the headers we hand it; each must then go on the wire as
// signed (an empty "Expect:" once did not, and every PUT was refused).
TEST(S3ClientTest, EverySignedHeaderIsSent) {
  ScriptedHttpServer server(
      {ScriptedHttpServer::Reply(200, "OK"), ScriptedHttpServer::Reply(206, "Partial", "b")});
  auto client = NewClient(Options(server.port()));
  ASSERT_TRUE(client->PutObject("k", std::string(2 << 20, 'x'), PutCondition::kIfAbsent).ok());
  ASSERT_TRUE(client->GetObjectRange("k", 1, 1).ok());
  for (const std::string& r : server.requests()) {
    size_t at = r.find("SignedHeaders=");
    ASSERT_NE(at, std::string::npos) << r;
    std::string names = r.substr(at + 14, r.find(',', at) - at - 14);
    std::string lower = r;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t start = 0;
    while (start <= names.size()) {
      size_t end = std::min(names.find(';', start), names.size());
      std::string name = names.substr(start, end - start);
      EXPECT_NE(lower.find("\r\n" + name + ": "), std::string::npos)
          << "signed header " << name << " not sent (or sent empty): " << r;
      start = end + 1;
    }
  }
}

TEST(S3ClientTest, GivesUpAfterMaxAttemptsAsUnavailable) {
  std::deque<std::string> script(5, ScriptedHttpServer::Reply(503, "Slow Down",
                                                              "<Error><Code>SlowDown</Code>"
                                                              "<Message>reduce your rate</Message>"
                                                              "</Error>"));
  ScriptedHttpServer server(script);
  auto client = NewClient(Options(server.port()));
  Status s = client->DeleteObject("k");
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("HTTP 503 'SlowDown': 'reduce your rate' (after 3 attempts)"),
            std::string::npos)
      << s.ToString();
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(S3ClientTest, AnswersMapToStatusesWithoutRetrying) {
  struct Case {
    int http;
    const char* code;
    PutCondition condition;
    Code want;
  } cases[] = {
      {404, "NoSuchKey", PutCondition::kNone, Code::kNotFound},
      {403, "AccessDenied", PutCondition::kNone, Code::kPermissionDenied},
      {412, "PreconditionFailed", PutCondition::kIfAbsent, Code::kAlreadyExists},
      {412, "PreconditionFailed", PutCondition::kNone, Code::kFailedPrecondition},
      {409, "OperationAborted", PutCondition::kNone, Code::kAborted},
      {400, "InvalidArgument", PutCondition::kNone, Code::kInvalidArgument},
  };
  for (const Case& c : cases) {
    ScriptedHttpServer server({ScriptedHttpServer::Reply(
        c.http, "X", std::string("<Error><Code>") + c.code + "</Code></Error>")});
    auto client = NewClient(Options(server.port()));
    Status s = client->PutObject("k", "v", c.condition);
    EXPECT_EQ(s.code(), c.want) << c.http << " " << s.ToString();
    EXPECT_NE(s.message().find(c.code), std::string::npos) << s.ToString();
    EXPECT_EQ(server.requests().size(), 1u) << c.http;
    EXPECT_EQ(server.requests()[0].find("If-None-Match: *") != std::string::npos,
              c.condition == PutCondition::kIfAbsent);
  }
}

TEST(S3ClientTest, ServerTextEchoingCredentialsIsScrubbed) {
  std::string echo = std::string("<Error><Code>SignatureDoesNotMatch</Code><Message>key ") +
                     kAccess + " secret " + kSecret + "</Message></Error>";
  ScriptedHttpServer server({ScriptedHttpServer::Reply(403, "Forbidden", echo)});
  auto client = NewClient(Options(server.port()));
  auto got = client->GetObject("k");
  EXPECT_EQ(got.status().code(), Code::kPermissionDenied);
  EXPECT_NE(got.status().message().find("[redacted]"), std::string::npos)
      << got.status().ToString();
  ExpectNoCredentials(got.status());
}

TEST(S3ClientTest, HostileErrorBodiesOnlyLoseTheirCode) {
  std::string huge = "<Error><Code>" + std::string(1 << 20, 'x') + "</Code></Error>";
  ScriptedHttpServer server({ScriptedHttpServer::Reply(404, "Not Found", huge),
                             ScriptedHttpServer::Reply(404, "Not Found", "<html>\x1b[31m</html>")});
  auto client = NewClient(Options(server.port()));
  for (int i = 0; i < 2; ++i) {
    auto got = client->GetObject("k");
    EXPECT_EQ(got.status().code(), Code::kNotFound) << got.status().ToString();
    EXPECT_LT(got.status().message().size(), 200u) << got.status().ToString();
    EXPECT_EQ(got.status().message().find('\x1b'), std::string::npos);
  }
}

TEST(S3ClientTest, ListQueryIsCanonicalAndVirtualHostedNamesTheBucketInTheHost) {
  std::string page = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
  ScriptedHttpServer server({ScriptedHttpServer::Reply(200, "OK", page)});
  S3ClientOptions o = Options(server.port());
  o.endpoint = "http://localhost:" + std::to_string(server.port());
  o.virtual_hosted = true;
  auto client = NewClient(o);
  // bkt.localhost resolves to loopback on glibc systems (RFC 6761).
  auto got = client->ListObjectsV2("p/a b+", "tok/=+");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].rfind("GET /?continuation-token=tok%2F%3D%2B&list-type=2&max-keys=1000"
                              "&prefix=p%2Fa%20b%2B HTTP/1.1\r\n",
                              0),
            0u)
      << requests[0];
  EXPECT_NE(requests[0].find("Host: bkt.localhost:"), std::string::npos) << requests[0];
}

}  // namespace
}  // namespace snapvol::store
