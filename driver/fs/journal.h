// Journal: the mount's log of pending operations (S9), one file per
// generation in the mount's state directory (names in state_layout.h).
//
// File format: the 4-byte magic "svJ1", then records, each
//   u32 length (little endian) | u32 CRC-32C of the payload | payload
// where the payload is a serialized mount::JournalRecord. A crash can leave a
// torn last record (short, or a bad checksum); readers stop there, since a
// record is only acknowledged to the application after it was appended.
//
// Records reach the page cache with pwrite(2) before the operation is
// answered, so they survive a SIGKILL of the server; Sync() (fsync of a file
// or directory in the mount) makes them survive a reboot.
//
// All I/O goes through a core::Env (tests pass a FaultEnv). Failures:
//   - An Append that fails part-way (ENOSPC) is not acknowledged and does
//     not count: the next record is written where it began (records go at
//     the end of the last whole record, not O_APPEND), so no acknowledged
//     record ever sits behind a torn one; the torn bytes are also cut off.
//   - A failed Sync is sticky: Linux reports a failed write-back once and
//     marks the pages clean, so a later fdatasync could succeed without the
//     lost records. Sync keeps failing until the generation it failed in is
//     removed by RemoveThrough (its records were committed by then).
//   - Sync also syncs generations rotated away but not yet removed, and the
//     directory once per new generation file (so its name survives).
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

#include "driver/core/env.h"
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
  bool torn = false;        // the file ended in an incomplete or corrupt record
  uint64_t good_bytes = 0;  // the magic and the whole records before any tear
};
// Decodes a whole journal file's bytes. Corruption if the magic is wrong.
Result<JournalContents> DecodeJournal(std::string_view bytes);
// Reads and decodes `path`. NotFound if absent.
Result<JournalContents> ReadJournalFile(const std::string& path,
                                        core::Env* env = core::Env::Default());

class Journal {
 public:
  // Opens generation `gen` in `dir` (journal file named by state_layout.h),
  // creating it; appends if it exists (after its last whole record). `env`
  // must outlive the journal.
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir, uint64_t gen,
                                               core::Env* env = core::Env::Default());
  ~Journal();

  Status Append(const mount::JournalRecord& record);
  // Makes every record appended so far durable: fdatasync of the current
  // generation and of rotated ones not yet removed (see the failure rules).
  Status Sync();
  // Closes the current generation and starts gen+1. Returns the closed one.
  Result<uint64_t> Rotate();
  // Deletes every generation <= `gen` (never the current one).
  Status RemoveThrough(uint64_t gen);
  uint64_t gen() const;

  // Generations present in `dir`, ascending.
  static Result<std::vector<uint64_t>> List(const std::string& dir,
                                            core::Env* env = core::Env::Default());

 private:
  Journal(std::string dir, core::Env* env) : dir_(std::move(dir)), env_(env) {}
  Status OpenGen(uint64_t gen);
  std::string PathOf(uint64_t gen) const;
  // Remembers that a Sync failed in generation `gen`; returns `s`.
  Status SyncFailed(uint64_t gen, Status s);

  const std::string dir_;
  core::Env* const env_;
  mutable std::mutex mu_;                     // guards the members below
  std::unique_ptr<core::RandomRWFile> file_;  // generation gen_
  uint64_t gen_ = 0;
  uint64_t end_ = 0;  // where the next record of gen_ goes
  // Generations rotated away since the last Sync: synced by the next one
  // (by name) unless RemoveThrough removes them first.
  std::vector<uint64_t> unsynced_;
  bool named_ = false;            // SyncDir since gen_ was created
  uint64_t sync_failed_gen_ = 0;  // 0, or the generation a Sync failed in
  Status sync_error_;
};

}  // namespace snapvol::fs
