// store::DecodeFileIndex (and the consistency checks it runs); what decodes
// must round-trip (object_round_trip.h) and its chunk sizes must add up
// without overflow.
#include "driver/store/object_codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/object_round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  std::optional<objects::FileIndex> index = fuzz::DecodeChecked<objects::FileIndex>(
      fuzz::Input(data, size), store::EncodeFileIndex, store::DecodeFileIndex);
  if (!index) return 0;
  uint64_t total = 0;
  for (const objects::ChunkRef& c : index->chunks()) {
    FUZZ_CHECK(total + c.size() >= total);
    total += c.size();
    FUZZ_CHECK(c.hash().empty() || store::HashField(c.hash(), "chunk").ok());
  }
  return 0;
}
