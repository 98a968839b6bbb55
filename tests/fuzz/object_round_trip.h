// The invariant every object decoder's fuzz target checks: an object that
// decodes re-encodes to bytes that decode to the same object, and encoding
// that again gives the same bytes (one object, one encoding, one name).
#pragma once

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <optional>
#include <string>
#include <string_view>

#include "driver/core/hash.h"
#include "driver/core/result.h"
#include "tests/fuzz/fuzz_check.h"

namespace snapvol::fuzz {

template <typename M>
std::string Deterministic(const M& msg) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    msg.SerializeToCodedStream(&coded);
  }
  return out;
}

template <typename M>
void CheckRoundTrip(const M& msg, std::string (*encode)(const M&),
                    core::Result<M> (*decode)(std::string_view, const core::Hash&)) {
  const std::string bytes = encode(msg);
  core::Result<M> again = decode(bytes, core::Hash::Of(bytes));
  FUZZ_CHECK_MSG(again.ok(), again.status().ToString());
  FUZZ_CHECK(Deterministic(*again) == Deterministic(msg));
  FUZZ_CHECK(encode(*again) == bytes);
}

// The object the input decodes to (round trip checked), or nullopt.
template <typename M>
std::optional<M> DecodeChecked(std::string_view bytes, std::string (*encode)(const M&),
                               core::Result<M> (*decode)(std::string_view, const core::Hash&)) {
  core::Result<M> msg = decode(bytes, core::Hash::Of(bytes));
  if (!msg.ok()) return std::nullopt;
  CheckRoundTrip(*msg, encode, decode);
  return std::move(*msg);
}

}  // namespace snapvol::fuzz
