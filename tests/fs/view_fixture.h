// A store in a temporary directory with one volume "v" in environment
// "main", and mount servers of it (no kernel): the setting of the tests of
// the View's helpers (committer, rebaser, directory reader).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "driver/core/names.h"
#include "driver/fs/mount_server.h"

namespace snapvol::fs::testing {

class ViewFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("snapvol-viewfx-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto st = store::OpenStore((dir_ / "store").string(), core::Env::Default());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    engine_ = std::make_unique<volume::Engine>(store_.get(), core::Env::Default());
    ASSERT_TRUE(engine_->CreateVolume("main", "v", volume::CreateVolumeOptions()).ok());
  }
  void TearDown() override {
    servers_.clear();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  MountServer& Server() {
    MountOptions o;
    o.store = (dir_ / "store").string();
    o.volume = "v";
    o.mountpoint = "/unused";
    o.state_dir = (dir_ / "state").string();
    o.commit_interval = std::chrono::milliseconds(0);
    auto s = MountServer::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    servers_.push_back(std::move(*s));
    return *servers_.back();
  }

  volume::VolumeRecord Volume() { return *engine_->GetVolume("main", "v"); }

  // Commits `changes` to the volume directly (another writer).
  void CommitElsewhere(const volume::ChangeSet& changes) {
    auto r = engine_->Commit(Volume(), changes, volume::CommitOptions());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // Files (path -> content) committed directly.
  void Seed(const std::map<std::string, std::string>& files) {
    volume::ChangeSet cs;
    for (const auto& [path, content] : files) {
      objects::Entry e;
      e.set_type(objects::FILE);
      e.set_mode(0644);
      e.set_size(content.size());
      e.mutable_content()->set_inline_data(content);
      ASSERT_TRUE(cs.Put(path, e).ok());
    }
    CommitElsewhere(cs);
  }
  // The head's entry at `path` (nullopt if absent).
  std::optional<objects::Entry> HeadEntry(const std::string& path) {
    auto snap = engine_->Head(Volume());
    auto e = engine_->Lookup(*snap, *core::SplitVolumePath(path));
    if (!e.ok() || !e->has_value()) return std::nullopt;
    return **e;
  }

  static Ino Find(View& v, Ino parent, const std::string& name) {
    auto r = v.Lookup(parent, name, Cred());
    return r.ok() ? r->ino : 0;
  }
  // Creates a file with `data` through the view.
  static Ino Create(View& v, Ino parent, const std::string& name, const std::string& data) {
    auto r = v.Create(parent, name, 0644, O_WRONLY | O_CREAT, Cred());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    auto t = v.BeginWrite(r->second.handle, Cred(), false);
    EXPECT_TRUE(t.ok());
    if (t.ok()) {
      auto n = t->use().Pwrite(data, 0);
      EXPECT_TRUE(n.ok());
      EXPECT_TRUE(v.EndWrite(std::move(*t), 0, *n).ok());
    }
    v.Release(r->second.handle);
    return r->first.ino;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<volume::Engine> engine_;
  std::vector<std::unique_ptr<MountServer>> servers_;
};

}  // namespace snapvol::fs::testing
