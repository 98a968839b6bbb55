// The local store's own files read back from disk (store/local/
// local_layout.h): the FORMAT file's content and the names found under
// objects/ and tmp/. Checks: FORMAT is accepted exactly for
// "snapvol-store 1" plus trailing blanks, and the refusal shows the foreign
// bytes escaped (UTF-8, no control characters); a parsed object name maps
// back to the same file.
#include <string>

#include "driver/core/text.h"
#include "driver/store/local/local_layout.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  const std::string_view in = fuzz::Input(data, size);
  const store::LocalLayout layout("/store");

  const core::Status format = layout.CheckFormat(in);
  std::string_view trimmed = in;
  while (!trimmed.empty() &&
         (trimmed.back() == '\n' || trimmed.back() == ' ' || trimmed.back() == '\r')) {
    trimmed.remove_suffix(1);
  }
  FUZZ_CHECK(format.ok() == (trimmed == "snapvol-store 1"));
  if (!format.ok()) {
    FUZZ_CHECK_MSG(core::IsUtf8(format.message()) && !fuzz::HasControl(format.message()),
                   format.message());
  }

  const size_t slash = in.find('/');
  const std::string_view dir = in.substr(0, slash);
  const std::string_view file = slash == std::string_view::npos ? "" : in.substr(slash + 1);
  if (std::optional<core::Hash> id = store::LocalLayout::ParseObjectName(dir, file)) {
    FUZZ_CHECK(layout.ObjectFile(*id) == "/store/objects/" + std::string(in));
  }
  const std::string_view owner = store::LocalLayout::TempOwner(in);
  FUZZ_CHECK(in.substr(0, owner.size()) == owner && owner.find('.') == std::string_view::npos);
  return 0;
}
