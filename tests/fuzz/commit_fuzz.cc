// store::DecodeCommit (and the consistency checks it runs); what decodes
// must round-trip (object_round_trip.h), and its root must name a tree the
// readers accept (volume::TreeOf).
#include "driver/store/object_codec.h"
#include "driver/volume/tree_reader.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/object_round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  std::optional<objects::Commit> commit = fuzz::DecodeChecked<objects::Commit>(
      fuzz::Input(data, size), store::EncodeCommit, store::DecodeCommit);
  if (!commit) return 0;
  core::Result<core::Hash> tree = volume::TreeOf(commit->root());
  FUZZ_CHECK_MSG(tree.ok(), tree.status().ToString());
  FUZZ_CHECK(commit->version() == 1 || store::HashField(commit->parent(), "parent").ok());
  return 0;
}
