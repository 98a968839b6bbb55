// The admin's tenancy file (csi/tenancy.h, YAML through yaml-cpp). Checks:
// parsing never throws or crashes, and a policy that parses still lets
// every namespace use (and create) its own environment unless a rule says
// createIfMissing: false.
#include <string>

#include "driver/csi/tenancy.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  core::Result<csi::TenancyPolicy> policy =
      csi::TenancyPolicy::Parse(std::string(fuzz::Input(data, size)), "tenancy.yaml");
  if (!policy.ok()) return 0;
  for (const char* ns : {"default", "ml-team", "models"}) {
    FUZZ_CHECK(policy->CheckInline(ns, ns, /*create=*/false).ok());
    (void)policy->CheckInline(ns, "models", /*create=*/true);
  }
  return 0;
}
