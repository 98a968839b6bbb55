// Progress: a one-line transfer progress bar on stderr. It draws only when
// stderr is a terminal and the transfer is at least kMinBytes, so scripts,
// pipes and CI logs never see it. Add() and AddTotal() are thread-safe and
// cheap (one atomic add); a ticker thread redraws a few times a second.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace snapvol::cli {

class Progress {
 public:
  static constexpr uint64_t kMinBytes = 8 << 20;

  // `verb` is shown first ("put", "get"). The total may grow later with
  // AddTotal() (a put learns it while walking the tree).
  Progress(std::string verb, uint64_t total_bytes);
  ~Progress();  // calls Finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Add(uint64_t bytes) { done_.fetch_add(bytes, std::memory_order_relaxed); }
  void AddTotal(uint64_t bytes) { total_.fetch_add(bytes, std::memory_order_relaxed); }
  // Stops the ticker and erases the bar. Idempotent.
  void Finish();

 private:
  void Loop();
  void Draw();

  std::string verb_;
  std::atomic<uint64_t> total_;
  bool enabled_ = false;  // stderr is a terminal
  bool drawn_ = false;    // guarded by mu_
  int64_t start_ns_ = 0;
  std::atomic<uint64_t> done_{0};
  std::mutex mu_;  // guards stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread ticker_;
};

}  // namespace snapvol::cli
