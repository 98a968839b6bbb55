#include "driver/store/s3/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "driver/core/text.h"

namespace snapvol::store {

using core::Result;
using core::Status;

namespace {

// Error bodies beyond this are not kept: they are only parsed for a Code.
constexpr size_t kMaxErrorBody = 64 << 10;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// AWS URI encoding: unreserved characters stay, everything else is %XX.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

TransportResult Classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return TransportResult::kOk;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransportResult::kRetryable;
    default:
      return TransportResult::kFatal;
  }
}

double UnitRandom() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::string Cut(std::string_view s) { return core::QuoteBytes(s.substr(0, 200)); }

}  // namespace

struct S3Client::Request {
  const char* method;  // GET, HEAD, PUT, DELETE
  std::string key;     // object key; empty for bucket-level requests
  std::string query;   // canonical: sorted, encoded
  std::string_view body;
  PutCondition condition = PutCondition::kNone;
  std::string range;  // "bytes=a-b" or empty
};

struct S3Client::Response {
  TransportResult transport = TransportResult::kOk;
  std::string transport_error;  // libcurl's description
  long http = 0;
  std::string body;
  bool body_cut = false;
  S3ObjectInfo info;  // from the headers (HEAD)
  std::string s3_code, s3_message;
};

S3Client::S3Client(S3ClientOptions options)
    : options_(std::move(options)), sigv4_("aws:amz:" + options_.region + ":s3") {}

S3Client::~S3Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

Result<std::unique_ptr<S3Client>> S3Client::Create(S3ClientOptions options) {
  const std::string& e = options.endpoint;
  std::string_view rest;
  if (e.rfind("http://", 0) == 0) {
    rest = std::string_view(e).substr(7);
  } else if (e.rfind("https://", 0) == 0) {
    rest = std::string_view(e).substr(8);
  } else {
    return Status::InvalidArgument("S3 endpoint " + Cut(e) +
                                   " must start with http:// or https://");
  }
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('@') != std::string_view::npos) {
    // Not quoted: what precedes the '@' may be a key.
    return Status::InvalidArgument(
        "S3 endpoint holds user information ('@'); pass credentials separately");
  }
  if (rest.empty() || rest.find_first_of("/?# ") != std::string_view::npos) {
    return Status::InvalidArgument("S3 endpoint " + Cut(e) +
                                   " must be scheme://host[:port], without path, user or query");
  }
  if (options.bucket.empty() || options.bucket.find_first_of("/?#% ") != std::string::npos) {
    return Status::InvalidArgument("S3 bucket name " + Cut(options.bucket) + " is not valid");
  }
  if (options.region.empty() || options.region.find(':') != std::string::npos) {
    return Status::InvalidArgument("S3 region " + Cut(options.region) + " is not valid");
  }
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "S3 credentials are incomplete (access key id or secret key "
        "is empty)");
  }
  if (options.retry.max_attempts < 1) options.retry.max_attempts = 1;
  GlobalInit();
  return std::unique_ptr<S3Client>(new S3Client(std::move(options)));
}

std::string S3Client::Describe(std::string_view key) const {
  return "s3://" + options_.bucket + "/" + std::string(key);
}

std::string S3Client::Url(std::string_view key, std::string_view query) const {
  std::string url;
  if (options_.virtual_hosted) {
    size_t scheme_end = options_.endpoint.find("://") + 3;
    url = options_.endpoint.substr(0, scheme_end) + options_.bucket + "." +
          options_.endpoint.substr(scheme_end) + "/";
  } else {
    url = options_.endpoint + "/" + options_.bucket;
    if (!key.empty()) url += "/";
  }
  url += UriEncode(key, /*keep_slash=*/true);
  if (!query.empty()) url += "?" + std::string(query);
  return url;
}

std::string S3Client::Scrub(std::string message) const {
  for (const std::string* secret :
       {&options_.credentials.secret_access_key, &options_.credentials.access_key_id}) {
    if (secret->empty()) continue;
    for (size_t at = message.find(*secret); at != std::string::npos;
         at = message.find(*secret, at)) {
      message.replace(at, secret->size(), "[redacted]");
    }
  }
  return message;
}

void* S3Client::Acquire() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::Release(void* handle) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (idle_.size() < options_.max_idle_connections) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

namespace {

struct Transfer {
  CURL* curl;
  std::string_view upload;
  size_t uploaded = 0;
  std::string* body;
  bool* body_cut;
};

size_t OnWrite(char* data, size_t size, size_t n, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  size_t len = size * n;
  long http = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &http);
  if (http >= 300 && t->body->size() + len > kMaxErrorBody) {
    *t->body_cut = true;
    return len;  // drained, not kept
  }
  t->body->append(data, len);
  return len;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  size_t len = std::min(size * n, t->upload.size() - t->uploaded);
  std::memcpy(buffer, t->upload.data() + t->uploaded, len);
  t->uploaded += len;
  return len;
}

// Drops every option of this request (pointers into our stack frame, the
// credentials) from a handle going back to the pool; its connections stay.
void Forget(CURL* curl, curl_slist* headers) {
  curl_easy_reset(curl);
  curl_slist_free_all(headers);
}

}  // namespace

S3Client::Response S3Client::Attempt(void* handle, const Request& request) {
  CURL* curl = static_cast<CURL*>(handle);
  Response response;
  if (curl == nullptr) {
    response.transport = TransportResult::kFatal;
    response.transport_error = "curl_easy_init failed";
    return response;
  }
  char error[CURL_ERROR_SIZE] = {0};
  Transfer transfer{curl, request.body, 0, &response.body, &response.body_cut};
  std::string url = Url(request.key, request.query);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (request.condition == PutCondition::kIfAbsent) {
    headers = curl_slist_append(headers, "If-None-Match: *");
  }
  std::string range = request.range.empty() ? "" : "Range: " + request.range;
  if (!range.empty()) headers = curl_slist_append(headers, range.c_str());

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, options_.credentials.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.credentials.secret_access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  const std::string_view method = request.method;
  if (method == "PUT") {
    // No waiting for "100 Continue" before the body. (Not by removing the
    // Expect header with "Expect:": libcurl 7.88 signs that empty header,
    // which it then does not send, and the server refuses the signature.)
    curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "DELETE") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }

  CURLcode code = curl_easy_perform(curl);
  long connects = 0;
  if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
    connections_opened_ += static_cast<uint64_t>(connects);
  }
  response.transport = Classify(code);
  if (code != CURLE_OK) {
    response.transport_error = error[0] != '\0' ? error : curl_easy_strerror(code);
    Forget(curl, headers);
    return response;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.http);
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length >= 0) response.info.size = static_cast<uint64_t>(length);
  curl_header* etag = nullptr;
  if (curl_easy_header(curl, "ETag", 0, CURLH_HEADER, -1, &etag) == CURLHE_OK) {
    response.info.etag = etag->value;
  }
  if (response.http >= 300 && !response.body.empty() && !response.body_cut) {
    auto parsed = ParseS3Error(response.body);
    if (parsed.ok()) {
      response.s3_code = parsed->code;
      response.s3_message = parsed->message;
    }
  }
  Forget(curl, headers);
  return response;
}

Result<S3Client::Response> S3Client::Perform(const Request& request) {
  const RetryPolicy& policy = options_.retry;
  for (int attempt = 1;; ++attempt) {
    void* handle = Acquire();
    Response response = Attempt(handle, request);
    if (handle != nullptr) Release(handle);
    if (response.transport == TransportResult::kOk && response.http >= 200 && response.http < 300) {
      return response;
    }
    if (attempt >= policy.max_attempts ||
        !RetryPolicy::IsRetryable(response.transport, response.http, response.s3_code)) {
      return ErrorFor(request, response, attempt);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(policy.BackoffMs(attempt, UnitRandom())));
  }
}

Status S3Client::ErrorFor(const Request& request, const Response& response, int attempts) const {
  std::string what = std::string("S3 ") + request.method + " " + Describe(request.key);
  if (!request.query.empty()) what += "?" + request.query;
  std::string tries = attempts == 1 ? "" : " (after " + std::to_string(attempts) + " attempts)";
  if (response.transport != TransportResult::kOk) {
    std::string m = Scrub(what + ": " + Cut(response.transport_error) + tries);
    if (response.transport == TransportResult::kFatal) return Status::FailedPrecondition(m);
    return Status::Unavailable(m);
  }
  std::string detail = "HTTP " + std::to_string(response.http);
  if (!response.s3_code.empty()) detail += " " + Cut(response.s3_code);
  if (!response.s3_message.empty()) detail += ": " + Cut(response.s3_message);
  std::string m = Scrub(what + ": " + detail + tries);
  if (RetryPolicy::IsRetryable(response.transport, response.http, response.s3_code)) {
    return Status::Unavailable(m);
  }
  switch (response.http) {
    case 404:
      return Status::NotFound(m);
    case 401:
    case 403:
      return Status::PermissionDenied(m);
    case 412:
      if (request.condition == PutCondition::kIfAbsent) return Status::AlreadyExists(m);
      return Status::FailedPrecondition(m);
    case 409:
      return Status::Aborted(m);
    default:
      if (response.http >= 400 && response.http < 500) return Status::InvalidArgument(m);
      return Status::Internal(m + " (unexpected answer)");
  }
}

Status S3Client::PutObject(std::string_view key, std::string_view data, PutCondition condition) {
  Request r{"PUT", std::string(key), "", data, condition, ""};
  return Perform(r).status();
}

Result<std::string> S3Client::GetObject(std::string_view key) {
  Request r{"GET", std::string(key), "", {}, PutCondition::kNone, ""};
  ASSIGN_OR_RETURN(Response response, Perform(r));
  return std::move(response.body);
}

Result<std::string> S3Client::GetObjectRange(std::string_view key, uint64_t offset,
                                             uint64_t length) {
  if (length == 0) return Status::InvalidArgument("empty range of " + Describe(key));
  Request r{"GET",
            std::string(key),
            "",
            {},
            PutCondition::kNone,
            "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1)};
  ASSIGN_OR_RETURN(Response response, Perform(r));
  if (response.http == 206) return std::move(response.body);
  // A server that ignored the range sent the whole object.
  if (offset >= response.body.size()) {
    return Status::InvalidArgument("range from byte " + std::to_string(offset) + " of " +
                                   Describe(key) + " starts past its end");
  }
  return response.body.substr(offset, length);
}

Result<S3ObjectInfo> S3Client::HeadObject(std::string_view key) {
  Request r{"HEAD", std::string(key), "", {}, PutCondition::kNone, ""};
  ASSIGN_OR_RETURN(Response response, Perform(r));
  return response.info;
}

Status S3Client::DeleteObject(std::string_view key) {
  Request r{"DELETE", std::string(key), "", {}, PutCondition::kNone, ""};
  return Perform(r).status();
}

Result<S3ListPage> S3Client::ListObjectsV2(std::string_view prefix,
                                           std::string_view continuation_token, int max_keys) {
  // Parameters sorted by name and encoded as SigV4's canonical query
  // wants them, so the query sent is its own canonical form.
  std::string query;
  if (!continuation_token.empty()) {
    query += "continuation-token=" + UriEncode(continuation_token, false) + "&";
  }
  query += "list-type=2&max-keys=" + std::to_string(max_keys);
  query += "&prefix=" + UriEncode(prefix, false);
  Request r{"GET", "", query, {}, PutCondition::kNone, ""};
  ASSIGN_OR_RETURN(Response response, Perform(r));
  auto page = ParseListObjectsV2(response.body);
  if (!page.ok()) return page.status().Annotate("S3 list " + Describe(prefix));
  return page;
}

}  // namespace snapvol::store
