// AsyncInvalidator with a recording callback instead of the kernel.
#include "driver/fs/async_invalidator.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace snapvol::fs {
namespace {

using Entries = std::vector<std::pair<Ino, std::string>>;

TEST(AsyncInvalidatorTest, DeliversInOrderAndDrainWaitsForAll) {
  std::mutex mu;
  Entries seen;
  AsyncInvalidator inv([&](Ino parent, const std::string& name) {
    std::lock_guard<std::mutex> l(mu);
    seen.emplace_back(parent, name);
  });
  inv.Add({{1, "a"}, {1, "b"}});
  inv.Add({});
  inv.Add({{4, "c"}});
  inv.Drain();
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, (Entries{{1, "a"}, {1, "b"}, {4, "c"}}));
}

TEST(AsyncInvalidatorTest, AddDoesNotWaitForDelivery) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int delivered = 0;
  AsyncInvalidator inv([&](Ino, const std::string&) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return release; });
    ++delivered;
  });
  inv.Add({{1, "held"}});  // the callback blocks, as the kernel would under a lock
  inv.Add({{1, "next"}});
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(delivered, 0);
    release = true;
  }
  cv.notify_all();
  inv.Drain();
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(delivered, 2);
}

TEST(AsyncInvalidatorTest, TheDestructorDeliversWhatIsQueued) {
  int delivered = 0;
  {
    AsyncInvalidator inv([&](Ino, const std::string&) { ++delivered; });
    inv.Add({{1, "a"}, {2, "b"}, {3, "c"}});
  }
  EXPECT_EQ(delivered, 3);
}

TEST(AsyncInvalidatorTest, DrainWithNothingQueuedReturns) {
  AsyncInvalidator inv([](Ino, const std::string&) {});
  inv.Drain();
}

}  // namespace
}  // namespace snapvol::fs
