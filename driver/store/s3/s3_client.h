// S3Client: the handful of S3 requests the S3 backend makes, over libcurl.
//
// Requests are signed by libcurl (CURLOPT_AWS_SIGV4, service s3) with an
// unsigned payload (`x-amz-content-sha256: UNSIGNED-PAYLOAD`): integrity of
// object bytes comes from the SHA-256 names the store checks on every read,
// not from the signature. Path-style addressing by default
// (http://host/bucket/key, what Ceph RGW and MinIO serve out of the box);
// virtual-hosted (http://bucket.host/key) on request.
//
// Every attempt has a deadline (connect_timeout_ms to connect,
// request_timeout_ms for the whole exchange); failed attempts are retried
// per RetryPolicy (retry_policy.h), so a request returns after at most
// max_attempts × request_timeout_ms plus the backoff sleeps — never hangs.
// What is left after the last attempt maps to a Status once, here:
//   404 → NotFound; 401/403 → PermissionDenied; 412 → AlreadyExists for a
//   PutObject with kIfAbsent, FailedPrecondition otherwise; 409 → Aborted;
//   other 4xx → InvalidArgument; retryable failures (5xx, 429, SlowDown,
//   connection errors, timeouts) once attempts are exhausted → Unavailable;
//   a local libcurl failure (bad URL, TLS set-up) → FailedPrecondition.
// Messages name the method, s3://bucket/key, the HTTP status and S3 error
// code (server text escaped and cut) and the number of attempts. The
// credentials never appear in a Status: they are only handed to libcurl,
// and every message is scrubbed of them before it leaves this class.
//
// Connections are reused: idle easy handles (each keeping its connection
// cache) wait in a pool of up to max_idle_connections.
// Thread-safe: any number of threads may issue requests at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "driver/core/result.h"
#include "driver/store/s3/retry_policy.h"
#include "driver/store/s3/s3_xml.h"

namespace snapvol::store {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct S3ClientOptions {
  // scheme://host[:port] with scheme http or https; no path, user or query.
  std::string endpoint;
  std::string bucket;
  std::string region = "us-east-1";
  bool virtual_hosted = false;
  S3Credentials credentials;
  // A PEM bundle of CAs to verify the server with; empty: the system's.
  std::string ca_file;
  int64_t connect_timeout_ms = 5000;
  int64_t request_timeout_ms = 60000;
  RetryPolicy retry;
  size_t max_idle_connections = 16;
};

enum class PutCondition {
  kNone,
  // `If-None-Match: *`: create only if the key is absent. A 412 answer is
  // AlreadyExists. Caution: if an earlier attempt of the same call landed
  // but its answer was lost (timeout, reset), the retry meets our own
  // object and also reports AlreadyExists; the message then says how many
  // attempts were made, and callers that must know re-read the key.
  kIfAbsent,
};

struct S3ObjectInfo {
  uint64_t size = 0;
  std::string etag;  // as the server sent it (quotes included)
};

class S3Client {
 public:
  // InvalidArgument for a malformed endpoint, an empty bucket or region, or
  // missing credentials (named, never shown). No request is made.
  static core::Result<std::unique_ptr<S3Client>> Create(S3ClientOptions options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  core::Status PutObject(std::string_view key, std::string_view data,
                         PutCondition condition = PutCondition::kNone);
  core::Result<std::string> GetObject(std::string_view key);
  // Bytes [offset, offset + length) — fewer if the object ends first.
  // InvalidArgument if `offset` is at or past the end (HTTP 416), or
  // `length` is 0.
  core::Result<std::string> GetObjectRange(std::string_view key, uint64_t offset, uint64_t length);
  core::Result<S3ObjectInfo> HeadObject(std::string_view key);
  // Ok whether or not the key existed (S3 answers 204 either way).
  core::Status DeleteObject(std::string_view key);
  // One page of keys under `prefix`, in key order; pass the page's
  // next_continuation_token back for the next one ("" for the first).
  core::Result<S3ListPage> ListObjectsV2(std::string_view prefix,
                                         std::string_view continuation_token, int max_keys = 1000);

  // "s3://bucket/key", for messages.
  std::string Describe(std::string_view key) const;
  // How many connections requests have opened so far (reuse shows as few).
  uint64_t connections_opened() const { return connections_opened_.load(); }
  const S3ClientOptions& options() const { return options_; }

 private:
  struct Request;
  struct Response;

  explicit S3Client(S3ClientOptions options);
  core::Result<Response> Perform(const Request& request);
  // One attempt on `handle`; the response, or a transport failure.
  Response Attempt(void* handle, const Request& request);
  core::Status ErrorFor(const Request& request, const Response& response, int attempts) const;
  std::string Url(std::string_view key, std::string_view query) const;
  // `message` with the credentials cut out, should they ever be in it.
  std::string Scrub(std::string message) const;
  void* Acquire();
  void Release(void* handle);

  const S3ClientOptions options_;
  const std::string sigv4_;  // CURLOPT_AWS_SIGV4, e.g. "aws:amz:us-east-1:s3"
  std::atomic<uint64_t> connections_opened_{0};
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL* easy handles; guarded by mu_
};

}  // namespace snapvol::store
