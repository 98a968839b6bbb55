// The Catalog conformance suite: one set of value-parameterized tests every
// catalog backend runs. Instantiate it like object_store_conformance.h:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, CatalogConformanceTest,
//       ::testing::Values(CatalogBackend{"sqlite", &NewSqliteTarget}),
//       CatalogBackendName);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "driver/store/catalog.h"

namespace snapvol::store {

// One fresh catalog (with only the "main" environment) for one test. Every
// handle Open() returns works on the same records.
class CatalogTarget {
 public:
  virtual ~CatalogTarget() = default;
  virtual Result<std::unique_ptr<Catalog>> Open() = 0;
};

struct CatalogBackend {
  std::string name;
  std::function<std::unique_ptr<CatalogTarget>()> new_target;
};

// gtest prints parameters in test listings; show the backend's name.
inline void PrintTo(const CatalogBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string CatalogBackendName(const ::testing::TestParamInfo<CatalogBackend>& info) {
  return info.param.name;
}

class CatalogConformanceTest : public ::testing::TestWithParam<CatalogBackend> {
 protected:
  void SetUp() override;
  Catalog& catalog() { return *catalog_; }
  std::unique_ptr<Catalog> OpenAnother();
  // Creates volume `name` in `env` with a fresh id and returns its record.
  VolumeRecord MakeVolume(const std::string& env, const std::string& name);

  std::unique_ptr<CatalogTarget> target_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace snapvol::store
