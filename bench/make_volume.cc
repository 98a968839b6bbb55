// make_volume: commits the benchmark tree (bench_tree.h: N files of 1-4 KiB,
// 1000 a directory, plus deep/a/.../g/leaf.txt) under REMOTE in a volume,
// straight through the engine: the entries `snapvol volume put VOLUME DIR
// REMOTE` makes of an `fs_ops tree DIR N` directory (file content through
// FileWriter, so inlined as put inlines it; mode 0644/0755, the caller's
// uid/gid, mtime now), without writing N local files and reading them back.
// 1M files take well under a minute instead of ~4 minutes for tree + put.
// Creates the volume if it is missing (default inode limit).
//
//   make_volume --store DIR [--env main] VOLUME N [REMOTE]   (REMOTE: /data)
//
// Prints "<seconds> <files>" like fs_ops.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_tree.h"
#include "driver/core/env.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"
#include "driver/volume/file_writer.h"

namespace {

using snapvol::core::Status;
using snapvol::volume::ChangeSet;
using snapvol::volume::Engine;

// Files per commit: bounds the change set held in memory (≈ 2.5 KiB each).
constexpr long kBatch = 100000;

void Die(const Status& s, const std::string& what) {
  if (!s.ok()) {
    std::fprintf(stderr, "make_volume: %s: %s\n", what.c_str(), s.ToString().c_str());
    std::exit(1);
  }
}

struct Maker {
  Engine* engine;
  std::string remote;
  int64_t now;

  snapvol::objects::Entry File(const std::string& data) {
    snapvol::volume::FileWriter writer(&engine->objects());
    Die(writer.Write(data), "write");
    auto content = writer.Finish();
    Die(content.status(), "finish");
    snapvol::objects::Entry e;
    e.set_type(snapvol::objects::FILE);
    e.set_mode(0644);
    e.set_uid(::geteuid());
    e.set_gid(::getegid());
    e.set_mtime_ns(now);
    e.set_size(writer.size());
    *e.mutable_content() = std::move(content).value();
    return e;
  }

  void Mkdir(ChangeSet* cs, const std::string& path) {
    Die(cs->Mkdir(path, 0755, ::geteuid(), ::getegid(), now), "mkdir " + path);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string store_dir, env = "main";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--store" && i + 1 < argc) {
      store_dir = argv[++i];
    } else if (a == "--env" && i + 1 < argc) {
      env = argv[++i];
    } else {
      args.push_back(a);
    }
  }
  if (store_dir.empty() || args.size() < 2 || args.size() > 3) {
    std::fprintf(stderr, "usage: make_volume --store DIR [--env ENV] VOLUME N [REMOTE]\n");
    return 2;
  }
  const std::string name = args[0];
  const long n = std::atol(args[1].c_str());
  std::string remote = args.size() == 3 ? args[2] : "/data";
  while (remote.size() > 1 && remote.back() == '/') remote.pop_back();
  if (remote == "/") remote.clear();

  auto t0 = std::chrono::steady_clock::now();
  auto store = snapvol::store::OpenStore(store_dir, snapvol::core::Env::Default());
  Die(store.status(), "open store " + store_dir);
  Engine engine(store->get(), snapvol::core::Env::Default());
  snapvol::volume::CreateVolumeOptions create;
  create.if_missing = true;
  auto vol = engine.CreateVolume(env, name, create);
  Die(vol.status(), "volume " + name);
  Maker maker{&engine, remote, engine.env()->NowNanos()};
  snapvol::volume::CommitOptions options;
  options.author = snapvol::volume::DefaultAuthor("make_volume");
  options.message = "make_volume " + std::to_string(n) + " files";

  snapvol::bench::TreeFileData files;
  for (long start = 0; start == 0 || start < n; start += kBatch) {
    ChangeSet cs;
    if (start == 0 && !remote.empty()) maker.Mkdir(&cs, remote);
    for (long i = start; i < std::min(n, start + kBatch); ++i) {
      const std::string dir = remote + "/" + snapvol::bench::TreeDirName(i);
      if (i % snapvol::bench::kTreeFilesPerDir == 0) maker.Mkdir(&cs, dir);
      Die(cs.Put(dir + "/" + snapvol::bench::TreeFileName(i), maker.File(files.Next(i))), "put");
    }
    if (start + kBatch >= n) {
      std::string deep = remote;
      for (const char* part : snapvol::bench::kTreeDeepDirs) {
        deep += std::string("/") + part;
        maker.Mkdir(&cs, deep);
      }
      Die(cs.Put(deep + "/" + snapvol::bench::kTreeLeafName,
                 maker.File(snapvol::bench::kTreeLeafData)),
          "put leaf");
    }
    Die(engine.Commit(*vol, cs, options).status(), "commit");
  }
  std::printf("%.6f %ld\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), n + 1);
  return 0;
}
