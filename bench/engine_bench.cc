// Engine benchmarks for issue 2: commit of one changed file, `ls` of one
// directory and attach (head + root tree) in volumes of 10k, 100k and 1M
// files, in two layouts (1000 files per directory, and one flat directory).
// Prints a table; times are medians of several runs measured in this run.
//
//   engine_bench [--store DIR] [--sizes 10000,100000,1000000] [--runs 7]
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "driver/core/env.h"
#include "driver/store/store.h"
#include "driver/volume/engine.h"

namespace {

using snapvol::volume::ChangeSet;
using snapvol::volume::CommitOptions;
using snapvol::volume::Engine;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Die(const snapvol::core::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "engine_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

snapvol::objects::Entry SmallFile(uint64_t i, int64_t now) {
  snapvol::objects::Entry e;
  e.set_type(snapvol::objects::FILE);
  e.set_mode(0644);
  e.set_mtime_ns(now);
  std::string data = "file " + std::to_string(i) + "\n";
  e.set_size(data.size());
  e.mutable_content()->set_inline_data(data);
  return e;
}

struct Row {
  std::string layout;
  uint64_t files;
  double build_s, attach_ms, ls_ms, commit_ms;
};

Row Run(Engine& engine, const std::string& layout, uint64_t files, int runs) {
  Row row{layout, files, 0, 0, 0, 0};
  std::string name = layout + "-" + std::to_string(files);
  auto vol = engine.CreateVolume("main", name, {});
  Die(vol.status(), "create volume");
  const uint64_t per_dir = layout == "flat" ? files : 1000;
  auto dir_of = [&](uint64_t i) {
    return layout == "flat" ? std::string("/d0") : "/d" + std::to_string(i / per_dir);
  };
  int64_t now = engine.env()->NowNanos();
  auto t0 = Clock::now();
  // Build in batches of 100k files per commit, like a large `put` would.
  for (uint64_t start = 0; start < files; start += 100000) {
    ChangeSet cs;
    for (uint64_t i = start; i < std::min(files, start + 100000); ++i) {
      Die(cs.Put(dir_of(i) + "/f" + std::to_string(i), SmallFile(i, now)), "put");
    }
    Die(engine.Commit(*vol, cs, {}).status(), "build commit");
  }
  row.build_s = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> attach, ls, commit;
  for (int r = 0; r < runs; ++r) {
    auto a0 = Clock::now();
    auto head = engine.Head(*vol);
    Die(head.status(), "head");
    auto root = snapvol::volume::TreeOf(head->root());
    Die(root.status(), "root tree");
    auto top = engine.reader().List(*root, "", 0);
    Die(top.status(), "list root");
    attach.push_back(Ms(Clock::now() - a0));

    auto l0 = Clock::now();
    auto dir = engine.Lookup(*head, {"d0"});
    Die(dir.status(), "lookup d0");
    auto dtree = snapvol::volume::TreeOf(**dir);
    Die(dtree.status(), "d0 tree");
    size_t n = 0;
    Die(engine.reader().ForEach(*dtree,
                                [&](const snapvol::objects::Entry&) {
                                  ++n;
                                  return snapvol::core::Status::Ok();
                                }),
        "ls d0");
    ls.push_back(Ms(Clock::now() - l0));

    ChangeSet cs;
    uint64_t victim = (static_cast<uint64_t>(r) * 7919) % files;
    Die(cs.Put(dir_of(victim) + "/f" + std::to_string(victim), SmallFile(victim + r + 1, now)),
        "put");
    auto c0 = Clock::now();
    Die(engine.Commit(*vol, cs, {}).status(), "commit");
    commit.push_back(Ms(Clock::now() - c0));
  }
  row.attach_ms = Median(attach);
  row.ls_ms = Median(ls);
  row.commit_ms = Median(commit);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_dir;
  std::vector<uint64_t> sizes = {10000, 100000, 1000000};
  int runs = 7;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--store" && i + 1 < argc) {
      store_dir = argv[++i];
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--sizes" && i + 1 < argc) {
      sizes.clear();
      std::string s = argv[++i];
      size_t pos = 0;
      while (pos < s.size()) {
        size_t c = s.find(',', pos);
        if (c == std::string::npos) c = s.size();
        sizes.push_back(std::stoull(s.substr(pos, c - pos)));
        pos = c + 1;
      }
    } else {
      std::fprintf(stderr, "usage: engine_bench [--store DIR] [--sizes a,b,c] [--runs N]\n");
      return 2;
    }
  }
  bool temp = store_dir.empty();
  if (temp) {
    char tmpl[] = "/var/tmp/snapvol-bench-XXXXXX";
    store_dir = mkdtemp(tmpl);
  }
  auto store = snapvol::store::OpenStore(store_dir, snapvol::core::Env::Default());
  Die(store.status(), "open store");
  Engine engine(store->get(), snapvol::core::Env::Default());
  std::printf("%-7s %9s %9s %10s %10s %10s\n", "layout", "files", "build_s", "attach_ms",
              "ls_d0_ms", "commit_ms");
  for (const char* layout : {"nested", "flat"}) {
    for (uint64_t n : sizes) {
      Row r = Run(engine, layout, n, runs);
      std::printf("%-7s %9llu %9.1f %10.2f %10.2f %10.2f\n", r.layout.c_str(),
                  static_cast<unsigned long long>(r.files), r.build_s, r.attach_ms, r.ls_ms,
                  r.commit_ms);
      std::fflush(stdout);
    }
  }
  if (temp) std::filesystem::remove_all(store_dir);
  return 0;
}
