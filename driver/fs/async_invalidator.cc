// AsyncInvalidator (async_invalidator.h).
#include "driver/fs/async_invalidator.h"

namespace snapvol::fs {

AsyncInvalidator::AsyncInvalidator(Deliver deliver)
    : deliver_(std::move(deliver)), thread_([this] { Run(); }) {}

AsyncInvalidator::~AsyncInvalidator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void AsyncInvalidator::Add(std::vector<std::pair<Ino, std::string>> entries) {
  if (entries.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& e : entries) queue_.push_back(std::move(e));
  cv_.notify_all();
}

void AsyncInvalidator::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void AsyncInvalidator::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) return;
    auto e = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    deliver_(e.first, e.second);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

}  // namespace snapvol::fs
