// core/names.h: in-volume paths and names from users and pods. Checks:
//   - every component SplitVolumePath returns is a valid entry name, and
//     splitting the joined components gives them again;
//   - a valid component is a one-component path of itself;
//   - a valid volume/environment name is a valid component.
#include <string>
#include <vector>

#include "driver/core/names.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  const std::string_view in = fuzz::Input(data, size);
  core::Result<std::vector<std::string>> parts = core::SplitVolumePath(in);
  if (parts.ok()) {
    for (const std::string& p : *parts) {
      FUZZ_CHECK_MSG(core::ValidateComponent(p).ok(), core::ValidateComponent(p).ToString());
    }
    const std::string joined = core::JoinVolumePath(*parts);
    // The joined form gains a leading '/', so a relative path of exactly
    // the maximum length has no valid canonical form; the limit is on
    // what callers pass.
    if (joined.size() <= core::kMaxPathLength) {
      core::Result<std::vector<std::string>> again = core::SplitVolumePath(joined);
      FUZZ_CHECK(again.ok() && *again == *parts);
    }
  }
  if (core::ValidateComponent(in).ok()) {
    FUZZ_CHECK(parts.ok() && parts->size() == 1 && (*parts)[0] == in);
  }
  if (core::ValidateName("volume", in).ok()) FUZZ_CHECK(core::ValidateComponent(in).ok());
  return 0;
}
