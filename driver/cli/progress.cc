#include "driver/cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "driver/cli/format.h"

namespace snapvol::cli {
namespace {

int64_t MonoNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int TerminalWidth() {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

}  // namespace

Progress::Progress(std::string verb, uint64_t total_bytes)
    : verb_(std::move(verb)), total_(total_bytes) {
  enabled_ = ::isatty(STDERR_FILENO) == 1;
  if (!enabled_) return;
  start_ns_ = MonoNanos();
  ticker_ = std::thread([this] { Loop(); });
}

Progress::~Progress() { Finish(); }

void Progress::Finish() {
  if (!ticker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  ticker_.join();
  if (drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

void Progress::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; })) {
    Draw();
  }
}

void Progress::Draw() {
  const uint64_t total = total_.load(std::memory_order_relaxed);
  if (total < kMinBytes) return;
  drawn_ = true;
  uint64_t done = done_.load(std::memory_order_relaxed);
  double secs = static_cast<double>(MonoNanos() - start_ns_) / 1e9;
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0;
  if (frac > 1) frac = 1;
  std::string tail = " " + HumanSize(done) + " / " + HumanSize(total) + "  " +
                     HumanSize(static_cast<uint64_t>(rate)) + "/s";
  if (rate > 0 && done < total) {
    auto eta = static_cast<uint64_t>(static_cast<double>(total - done) / rate);
    tail += "  eta " + std::to_string(eta / 60) + ":" + (eta % 60 < 10 ? "0" : "") +
            std::to_string(eta % 60);
  }
  char pct[8];
  std::snprintf(pct, sizeof(pct), "%3d%% ", static_cast<int>(frac * 100));
  int width = TerminalWidth() - static_cast<int>(verb_.size() + 1 + 5 + tail.size() + 3);
  std::string bar;
  if (width >= 10) {
    int filled = static_cast<int>(frac * width);
    bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
  }
  std::fprintf(stderr, "\r\033[K%s %s%s%s", verb_.c_str(), pct, bar.c_str(), tail.c_str());
  std::fflush(stderr);
}

}  // namespace snapvol::cli
