// fs::DecodeJournal: the bytes of one journal file, as recovery reads them
// after a crash. Whatever decodes must encode back to a journal that
// decodes to the same records, untorn.
#include "driver/fs/journal.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  core::Result<fs::JournalContents> contents = fs::DecodeJournal(fuzz::Input(data, size));
  if (!contents.ok()) return 0;
  // Every record takes at least its 8-byte header.
  FUZZ_CHECK(contents->records.size() * 8 <= size);
  std::string again = "svJ1";
  for (const mount::JournalRecord& r : contents->records) again += fs::EncodeJournalRecord(r);
  core::Result<fs::JournalContents> reread = fs::DecodeJournal(again);
  FUZZ_CHECK(reread.ok() && !reread->torn);
  FUZZ_CHECK(reread->records.size() == contents->records.size());
  for (size_t i = 0; i < reread->records.size(); ++i) {
    FUZZ_CHECK(fs::EncodeJournalRecord(reread->records[i]) ==
               fs::EncodeJournalRecord(contents->records[i]));
  }
  return 0;
}
