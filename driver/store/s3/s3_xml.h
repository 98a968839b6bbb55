// The two XML documents an S3 server sends that the S3 client reads: a
// ListObjectsV2 result page and an error body. Parsed with expat, minimally
// and strictly: a document type declaration (hence any entity definition),
// a wrong root element, nesting deeper than kMaxXmlDepth, a document larger
// than kMaxXmlBytes, a field longer than kMaxXmlFieldBytes, a missing or
// malformed required field — each is Corruption, naming what was wrong
// (foreign bytes escaped and cut). Elements the parser does not know are
// skipped, so newer servers' additions do not break it.
//
// Pure functions; no I/O. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "driver/core/result.h"

namespace snapvol::store {

inline constexpr size_t kMaxXmlBytes = 16 << 20;
inline constexpr size_t kMaxXmlFieldBytes = 4096;
inline constexpr int kMaxXmlDepth = 8;

struct S3ListedObject {
  std::string key;
  uint64_t size = 0;
};

// One page of ListObjectsV2 (`<ListBucketResult>`).
struct S3ListPage {
  std::vector<S3ListedObject> objects;  // in the server's (key) order
  bool truncated = false;
  // Set (non-empty) if and only if `truncated`: pass it to fetch the next page.
  std::string next_continuation_token;
};

// Required: IsTruncated ("true"/"false"); per Contents a non-empty Key and a
// decimal Size; NextContinuationToken when truncated.
core::Result<S3ListPage> ParseListObjectsV2(std::string_view xml);

// An S3 error body (`<Error><Code>…</Code><Message>…</Message>…</Error>`).
struct S3ErrorBody {
  std::string code;     // e.g. "NoSuchKey", "SlowDown"; required, non-empty
  std::string message;  // may be empty
};
core::Result<S3ErrorBody> ParseS3Error(std::string_view xml);

}  // namespace snapvol::store
