// The ObjectStore conformance suite: one set of value-parameterized tests
// every backend runs (restic-style). A backend test file instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreConformanceTest,
//       ::testing::Values(ObjectStoreBackend{"local", &NewLocalTarget}),
//       ObjectStoreBackendName);
//
// and compiles object_store_conformance.cc into the same test binary (the
// TEST_Ps are registered by static initializers, which a static library
// would drop).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "driver/store/object_store.h"

namespace snapvol::store {

// One empty store for one test. Open() may be called several times; every
// handle it returns works on the same stored objects (as separate processes
// or nodes would).
class ObjectStoreTarget {
 public:
  virtual ~ObjectStoreTarget() = default;
  virtual Result<std::unique_ptr<ObjectStore>> Open() = 0;
};

struct ObjectStoreBackend {
  std::string name;
  std::function<std::unique_ptr<ObjectStoreTarget>()> new_target;
};

// gtest prints parameters in test listings; show the backend's name.
inline void PrintTo(const ObjectStoreBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string ObjectStoreBackendName(
    const ::testing::TestParamInfo<ObjectStoreBackend>& info) {
  return info.param.name;
}

class ObjectStoreConformanceTest : public ::testing::TestWithParam<ObjectStoreBackend> {
 protected:
  void SetUp() override;
  ObjectStore& store() { return *store_; }
  std::unique_ptr<ObjectStore> OpenAnother();

  std::unique_ptr<ObjectStoreTarget> target_;
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace snapvol::store
