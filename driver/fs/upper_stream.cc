#include "driver/fs/upper_stream.h"

#include <utility>

namespace snapvol::fs {

UpperStream::UpperStream(store::ObjectStore* objects)
    : writer_(objects), thread_([this] { Run(); }) {}

UpperStream::~UpperStream() {
  {
    std::lock_guard<std::mutex> l(mu_);
    cancel_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool UpperStream::Feed(std::string_view data) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return queued_ < kMaxQueuedBytes || !error_.ok(); });
  if (!error_.ok() || closing_) return false;
  std::string buf;
  if (!spare_.empty()) {
    // Reused buffers: a fresh 1 MiB allocation is fresh pages to fault in.
    buf = std::move(spare_.back());
    spare_.pop_back();
  }
  buf.assign(data.data(), data.size());
  queued_ += data.size();
  queue_.push_back(std::move(buf));
  l.unlock();
  cv_.notify_all();
  return true;
}

core::Result<objects::Content> UpperStream::Finish() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!error_.ok()) return error_;
  return writer_.Finish();
}

void UpperStream::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return cancel_ || closing_ || !queue_.empty(); });
    if (cancel_ || (queue_.empty() && closing_)) return;
    std::string buf = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    core::Status s = error_.ok() ? writer_.Write(buf) : core::Status::Ok();
    l.lock();
    if (!s.ok() && error_.ok()) error_ = s;
    queued_ -= buf.size();
    if (spare_.size() < 4) spare_.push_back(std::move(buf));
    cv_.notify_all();
  }
}

}  // namespace snapvol::fs
