// CSI volume and snapshot ids (csi/volume_id.h, csi/snapshot_id.h), which
// the CO hands back from its own records, and the volume name derived from a
// CreateVolume request name. Checks: an id that parses prints as itself;
// a derived volume name is valid, deterministic and parses in an id.
#include <string>

#include "driver/core/names.h"
#include "driver/csi/snapshot_id.h"
#include "driver/csi/volume_id.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  const std::string_view in = fuzz::Input(data, size);
  if (std::optional<csi::VolumeId> v = csi::VolumeId::Parse(in)) {
    FUZZ_CHECK(v->ToString() == in);
  }
  if (std::optional<csi::SnapshotId> s = csi::SnapshotId::Parse(in)) {
    FUZZ_CHECK_MSG(s->ToString() == in, s->ToString());
    FUZZ_CHECK(csi::SnapshotId::Parse(s->ToString()) == s);
  }
  const std::string name = csi::VolumeNameForRequest(in);
  FUZZ_CHECK_MSG(core::ValidateName("volume", name).ok(), name);
  FUZZ_CHECK(csi::VolumeNameForRequest(in) == name);
  FUZZ_CHECK(csi::VolumeId::Parse("main/" + name).has_value());
  const std::string tag = csi::SnapshotId::TagFor(in);
  FUZZ_CHECK(csi::SnapshotId::Parse("main/" + name + "@1#" + tag).has_value());
  return 0;
}
