// Journal: the mount's log of pending operations (S9), one file per
// generation in the mount's state directory (names in state_layout.h).
//
// File format: the 4-byte magic "svJ1", then records, each
//   u32 length (little endian) | u32 CRC-32C of the payload | payload
// where the payload is a serialized mount::JournalRecord. A crash can leave a
// torn last record (short, or a bad checksum); readers stop there, since a
// record is only acknowledged to the application after it was appended.
//
// Records reach the page cache with write(2) before the operation is
// answered, so they survive a SIGKILL of the server; Sync() (fsync of a file
// or directory in the mount) makes them survive a reboot.
//
// Commit protocol: Rotate() starts generation g+1 for operations that arrive
// while a commit runs; once the commit landed, RemoveThrough(g) deletes the
// generations it covered. Recovery replays every remaining generation in
// order.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "driver/core/result.h"
#include "snapvol_mount.pb.h"

namespace snapvol::fs {

using core::Result;
using core::Status;

// CRC-32C (Castagnoli) of `data`.
uint32_t Crc32c(std::string_view data);

// Encodes one framed record (length, checksum, payload).
std::string EncodeJournalRecord(const mount::JournalRecord& record);

struct JournalContents {
  std::vector<mount::JournalRecord> records;
  bool torn = false;  // the file ended in an incomplete or corrupt record
};
// Decodes a whole journal file's bytes. Corruption if the magic is wrong.
Result<JournalContents> DecodeJournal(std::string_view bytes);
// Reads and decodes `path`. NotFound if absent.
Result<JournalContents> ReadJournalFile(const std::string& path);

class Journal {
 public:
  // Opens generation `gen` in `dir` (journal file named by state_layout.h),
  // creating it; appends if it exists.
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir, uint64_t gen);
  ~Journal();

  Status Append(const mount::JournalRecord& record);
  // fdatasync of the current generation.
  Status Sync();
  // Closes the current generation and starts gen+1. Returns the closed one.
  Result<uint64_t> Rotate();
  // Deletes every generation <= `gen` (never the current one).
  Status RemoveThrough(uint64_t gen);
  uint64_t gen() const;

  // Generations present in `dir`, ascending.
  static Result<std::vector<uint64_t>> List(const std::string& dir);

 private:
  Journal(std::string dir) : dir_(std::move(dir)) {}
  Status OpenGen(uint64_t gen);

  const std::string dir_;
  mutable std::mutex mu_;  // guards fd_ and gen_
  int fd_ = -1;
  uint64_t gen_ = 0;
};

}  // namespace snapvol::fs
