// The control JSON a mount's clients and recovery read (fs/control_json.h):
// mount.json, the server's options, and the values of the control
// attributes. The input goes to every decoder; what decodes must encode to
// text that decodes to the same value (compared by encoding again).
#include <string>

#include "driver/fs/control_json.h"
#include "tests/fuzz/fuzz_check.h"

namespace snapvol::fuzz {
namespace {

template <typename T>
void CheckDecoder(const std::string& text, core::Result<T> (*decode)(const std::string&),
                  std::string (*encode)(const T&)) {
  core::Result<T> value = decode(text);
  if (!value.ok()) return;
  const std::string encoded = encode(*value);
  core::Result<T> again = decode(encoded);
  FUZZ_CHECK_MSG(again.ok(), again.status().ToString() + " for " + encoded);
  FUZZ_CHECK_MSG(encode(*again) == encoded, encoded);
}

}  // namespace
}  // namespace snapvol::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  const std::string text(fuzz::Input(data, size));
  fuzz::CheckDecoder<fs::MountInfo>(text, fs::DecodeMountInfo, fs::EncodeMountInfo);
  fuzz::CheckDecoder<fs::MountOptions>(text, fs::DecodeMountOptions, fs::EncodeMountOptions);
  fuzz::CheckDecoder<fs::CommitInfo>(text, fs::DecodeCommitInfo, fs::EncodeCommitInfo);
  fuzz::CheckDecoder<fs::MountStatus>(text, fs::DecodeMountStatus, fs::EncodeMountStatus);
  return 0;
}
