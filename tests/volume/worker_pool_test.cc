#include "driver/volume/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace snapvol::volume {
namespace {

TEST(WorkerPoolTest, RunsEveryTaskAndReturnsResults) {
  WorkerPool pool(3);
  EXPECT_EQ(pool.threads(), 3u);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 100; ++i) results.push_back(pool.Submit([i] { return i * i; }));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(results[i].get(), i * i);
}

TEST(WorkerPoolTest, DestructorFinishesQueuedTasks) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(2);
    for (int i = 0; i < 50; ++i) (void)pool.Submit([&] { ++done; });
  }
  EXPECT_EQ(done.load(), 50);
}

TEST(WorkerPoolTest, DefaultThreadsStaysSmall) {
  EXPECT_GE(WorkerPool::DefaultThreads(), 2u);
  EXPECT_LE(WorkerPool::DefaultThreads(), 4u);
  WorkerPool zero(0);
  EXPECT_EQ(zero.threads(), 1u);
}

}  // namespace
}  // namespace snapvol::volume
