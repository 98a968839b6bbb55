// WorkerPool: a fixed set of threads running submitted tasks in FIFO order.
// Used by FileWriter (hash + store chunks) and FileReader (fetch ahead).
// Thread-safe. The destructor finishes every queued task, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace snapvol::volume {

class WorkerPool {
 public:
  // Starts `threads` workers (at least 1).
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `fn`; its result (or its exception, which our code never throws)
  // arrives through the future.
  template <typename Fn>
  auto Submit(Fn fn) -> std::future<std::invoke_result_t<Fn>> {
    using R = std::invoke_result_t<Fn>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    std::future<R> f = task->get_future();
    Enqueue([task] { (*task)(); });
    return f;
  }

  size_t threads() const { return threads_.size(); }

  // The pool size for streaming I/O: the hardware's concurrency, kept in
  // [2, 4] so several writers on a small machine do not oversubscribe it.
  static size_t DefaultThreads();

 private:
  void Enqueue(std::function<void()> task);
  void Run();

  std::mutex mu_;  // guards queue_ and stop_
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace snapvol::volume
