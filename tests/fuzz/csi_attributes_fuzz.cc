// CSI volume attributes and StorageClass parameters (csi/volume_attributes.h),
// written by pod authors and admins. Input: lines "key=value" (the first
// '=' splits; later lines win), given to both parsers; the whole input also
// goes to ParseDuration and ParseBool. Checks the contracts of what parses:
// names valid, an ephemeral volume has a name and an environment, a pinned
// version is read-only, durations are non-negative.
#include <string>

#include "driver/core/names.h"
#include "driver/csi/volume_attributes.h"
#include "tests/fuzz/fuzz_check.h"

namespace snapvol::fuzz {
namespace {

csi::Attributes ParseLines(std::string_view in) {
  csi::Attributes out;
  for (std::string_view line : Split(in, "\n")) {
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    out[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return out;
}

void CheckPublish(const csi::Attributes& attrs) {
  core::Result<csi::PublishAttributes> p = csi::ParsePublishAttributes(attrs, "volume 'fuzz'");
  if (!p.ok()) return;
  FUZZ_CHECK(p->name.empty() || core::ValidateName("volume", p->name).ok());
  FUZZ_CHECK(p->environment.empty() || core::ValidateName("environment", p->environment).ok());
  if (p->ephemeral) FUZZ_CHECK(!p->name.empty() && !p->environment.empty());
  if (p->version) FUZZ_CHECK(*p->version > 0 && p->read_only);
  if (p->inode_limit) FUZZ_CHECK(*p->inode_limit > 0);
  if (p->commit_interval) FUZZ_CHECK(p->commit_interval->count() >= 0);
}

void CheckCreate(const csi::Attributes& attrs) {
  core::Result<csi::CreateParameters> c = csi::ParseCreateParameters(attrs, "volume 'fuzz'");
  if (!c.ok()) return;
  FUZZ_CHECK(core::ValidateName("environment", c->environment).ok());
  if (c->inode_limit) FUZZ_CHECK(*c->inode_limit > 0);
  // The interval is passed on to the volume context, which must accept it.
  if (c->commit_interval) {
    FUZZ_CHECK(csi::ParseDuration(*c->commit_interval, "commitInterval").ok());
  }
}

}  // namespace
}  // namespace snapvol::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  const std::string_view in = fuzz::Input(data, size);
  const csi::Attributes attrs = fuzz::ParseLines(in);
  fuzz::CheckPublish(attrs);
  fuzz::CheckCreate(attrs);
  core::Result<std::chrono::milliseconds> d = csi::ParseDuration(std::string(in), "d");
  if (d.ok()) FUZZ_CHECK(d->count() >= 0);
  (void)csi::ParseBool(std::string(in), "b");
  return 0;
}
