// Unit tests of UpperStream: bytes fed in any pieces give the content one
// FileWriter gives for them, and an unfinished stream can be dropped.
#include "driver/fs/upper_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "driver/store/store.h"

namespace snapvol::fs {
namespace {

namespace stdfs = std::filesystem;

class UpperStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("snapvol-stream-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    auto st = store::OpenStore(dir_.string(), core::Env::Default());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
  }
  void TearDown() override {
    store_.reset();
    stdfs::remove_all(dir_);
  }
  stdfs::path dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(UpperStreamTest, PiecesGiveTheContentOfOneWriter) {
  std::mt19937 rng(3);
  std::string data(11 << 20, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  UpperStream stream(store_->objects.get());
  for (size_t off = 0; off < data.size();) {
    size_t n = std::min<size_t>(data.size() - off, 1 + rng() % (2 << 20));
    ASSERT_TRUE(stream.Feed(std::string_view(data).substr(off, n)));
    off += n;
  }
  auto got = stream.Finish();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  volume::FileWriter w(store_->objects.get());
  ASSERT_TRUE(w.Write(data).ok());
  auto want = w.Finish();
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(got->SerializeAsString(), want->SerializeAsString());
  EXPECT_GT(got->chunks_size(), 1);
  // Every chunk it names is in the store.
  for (const auto& ref : got->chunks()) {
    auto obj =
        store_->objects->Get(core::Hash::FromBytes(ref.hash()).value(), store::ObjectKind::kChunk);
    EXPECT_TRUE(obj.ok()) << obj.status().ToString();
  }
}

TEST_F(UpperStreamTest, DroppingAnUnfinishedStreamReturns) {
  std::string data(3 << 20, 'x');
  for (int i = 0; i < 20; ++i) {
    UpperStream stream(store_->objects.get());
    ASSERT_TRUE(stream.Feed(data));
    ASSERT_TRUE(stream.Feed(data));
  }
}

TEST_F(UpperStreamTest, AnEmptyStreamIsAnEmptyFile) {
  UpperStream stream(store_->objects.get());
  auto got = stream.Finish();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->chunks_size(), 0);
}

}  // namespace
}  // namespace snapvol::fs
