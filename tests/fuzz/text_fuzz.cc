// core/text.h and core/json_bytes.h: the UTF-8 check, terminal escaping,
// base64 and byte strings in JSON, on any bytes (names, paths and symlink
// targets are arbitrary bytes). Checks:
//   - IsUtf8 agrees with nlohmann::json's strict UTF-8 check;
//   - EscapeBytes output is UTF-8 without C0/C1 controls or DEL, and leaves
//     printable UTF-8 without backslashes alone;
//   - base64 round-trips both ways (decoding accepts only canonical text);
//   - SetJsonBytes / GetJsonBytes round-trip any bytes through JSON text,
//     and GetJsonBytes on the input parsed as JSON never crashes.
#include <nlohmann/json.hpp>
#include <string>

#include "driver/core/json_bytes.h"
#include "driver/core/text.h"
#include "tests/fuzz/fuzz_check.h"

namespace snapvol::fuzz {
namespace {

bool StrictJsonAccepts(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void CheckEscape(const std::string& s) {
  const std::string e = core::EscapeBytes(s);
  FUZZ_CHECK_MSG(core::IsUtf8(e), e);
  FUZZ_CHECK_MSG(!HasControl(e), e);
  const bool plain = core::IsUtf8(s) && s.find('\\') == std::string::npos && !HasControl(s);
  FUZZ_CHECK(plain == (e == s));
  FUZZ_CHECK(core::QuoteBytes(s) == "'" + e + "'");
}

void CheckBase64(const std::string& s) {
  std::optional<std::string> back = core::Base64Decode(core::Base64Encode(s));
  FUZZ_CHECK(back && *back == s);
  if (std::optional<std::string> bytes = core::Base64Decode(s)) {
    FUZZ_CHECK(core::Base64Encode(*bytes) == s);
  }
}

void CheckJsonBytes(const std::string& s) {
  nlohmann::json j = nlohmann::json::object();
  core::SetJsonBytes(j, "k", s);
  const nlohmann::json parsed = nlohmann::json::parse(core::DumpJsonText(j));
  std::string out;
  FUZZ_CHECK(core::GetJsonBytes(parsed, "k", &out));
  FUZZ_CHECK(out == s);

  const nlohmann::json input = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!input.is_object()) return;
  std::string got;
  if (core::GetJsonBytes(input, "k", &got)) {
    nlohmann::json again = nlohmann::json::object();
    core::SetJsonBytes(again, "k", got);
    std::string reread;
    FUZZ_CHECK(core::GetJsonBytes(again, "k", &reread) && reread == got);
  }
}

}  // namespace
}  // namespace snapvol::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  const std::string s(fuzz::Input(data, size));
  FUZZ_CHECK(core::IsUtf8(s) == fuzz::StrictJsonAccepts(s));
  fuzz::CheckEscape(s);
  fuzz::CheckBase64(s);
  fuzz::CheckJsonBytes(s);
  return 0;
}
