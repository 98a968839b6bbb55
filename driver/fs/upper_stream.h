// UpperStream: a FileWriter fed asynchronously, for the streaming commit of
// a file being written front to back (upper_file.h). Feed() copies the bytes
// into a bounded queue and returns; one thread per stream cuts, hashes and
// stores them, so the application's write waits neither for the chunker nor
// for SHA-256 unless the stream falls kMaxQueuedBytes behind.
//
// Thread-safe: Feed and Finish may be called from any thread, but not
// concurrently with each other for one stream (UpperFile serializes them).
// Destroying an unfinished stream cancels it; what it stored stays in the
// store unreferenced.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "driver/core/result.h"
#include "driver/store/object_store.h"
#include "driver/volume/file_writer.h"
#include "snapvol_objects.pb.h"

namespace snapvol::fs {

class UpperStream {
 public:
  static constexpr size_t kMaxQueuedBytes = 8 << 20;

  // `objects` must outlive the stream.
  explicit UpperStream(store::ObjectStore* objects);
  ~UpperStream();
  UpperStream(const UpperStream&) = delete;
  UpperStream& operator=(const UpperStream&) = delete;

  // Queues a copy of `data` as the next bytes of the file. False once the
  // stream has failed (the caller then drops it).
  bool Feed(std::string_view data);
  // Waits for everything queued, then returns the content.
  core::Result<objects::Content> Finish();

 private:
  void Run();

  volume::FileWriter writer_;  // used by the thread, then by Finish
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;   // guarded by mu_
  std::vector<std::string> spare_;  // emptied buffers for reuse; guarded by mu_
  size_t queued_ = 0;               // bytes in queue_ and being written; guarded by mu_
  bool closing_ = false;            // guarded by mu_
  bool cancel_ = false;             // guarded by mu_
  core::Status error_;              // guarded by mu_
  std::thread thread_;
};

}  // namespace snapvol::fs
