// store/s3/s3_xml.h: the XML an S3 server (or anything answering in its
// place) sends back, parsed by the S3 client — bytes snapvol did not write.
// Checks, on any input:
//   - neither parser crashes, hangs or reads past the input (sanitizers);
//   - a parsed ListObjectsV2 page is consistent: truncated exactly when it
//     carries a continuation token; every key non-empty and within the
//     field limit;
//   - a parsed error body has a non-empty code within the field limit;
//   - a refusal is Corruption, and its message is bounded and safe for a
//     terminal (foreign bytes escaped).
#include <string>

#include "driver/store/s3/s3_xml.h"
#include "tests/fuzz/fuzz_check.h"

namespace snapvol::fuzz {
namespace {

void CheckRefusal(const core::Status& s) {
  FUZZ_CHECK_MSG(s.Is(core::Code::kCorruption), s.ToString());
  FUZZ_CHECK_MSG(!HasControl(s.message()), s.message());
  FUZZ_CHECK_MSG(s.message().size() < 4096, s.message().substr(0, 200));
}

}  // namespace
}  // namespace snapvol::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  const std::string_view in = fuzz::Input(data, size);
  core::Result<store::S3ListPage> page = store::ParseListObjectsV2(in);
  if (page.ok()) {
    FUZZ_CHECK(page->truncated == !page->next_continuation_token.empty());
    for (const store::S3ListedObject& o : page->objects) {
      FUZZ_CHECK(!o.key.empty());
      FUZZ_CHECK(o.key.size() <= store::kMaxXmlFieldBytes);
    }
  } else {
    fuzz::CheckRefusal(page.status());
  }
  core::Result<store::S3ErrorBody> error = store::ParseS3Error(in);
  if (error.ok()) {
    FUZZ_CHECK(!error->code.empty());
    FUZZ_CHECK(error->code.size() <= store::kMaxXmlFieldBytes);
    FUZZ_CHECK(error->message.size() <= store::kMaxXmlFieldBytes);
  } else {
    fuzz::CheckRefusal(error.status());
  }
  return 0;
}
