// store::DecodeTreePage, then the readers of decoded pages: LookupInTree
// and TreeReader::List / ForEach over the B+tree the pages form, so a page
// that decodes but crashes (or loops) a reader is found.
//
// Input: one or more tree pages, each beginning with its magic ("svT1" or
// "svT2"); the input is cut before every later "svT". Page 0 is the root. A
// child reference resolves to page hash[0] % n whatever its other bytes
// (FakePages below), so the fuzzer builds multi-level trees without having
// to find SHA-256 preimages.
#include <optional>
#include <string>
#include <vector>

#include "driver/store/object_codec.h"
#include "driver/volume/tree_page.h"
#include "driver/volume/tree_reader.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/object_round_trip.h"

namespace snapvol::fuzz {
namespace {

using core::Hash;
using core::Result;
using core::Status;
using store::ObjectKind;

// Deep enough for any tree the readers accept (64 levels) and a few
// children per level; stops fan-out blowing up a walk's cost.
constexpr int kMaxGets = 2000;

// Serves the input's pages by the first byte of the requested hash (no
// verification: the bytes never hash to their names). Read-only.
class FakePages : public store::ObjectStore {
 public:
  explicit FakePages(std::vector<std::string_view> pages) : pages_(std::move(pages)) {}

  Status Put(const Hash&, ObjectKind, std::string_view) override {
    return Status::ReadOnly("fuzz pages");
  }
  Result<std::string> Get(const Hash& id, ObjectKind) override {
    if (++gets_ > kMaxGets) return Status::Unavailable("fuzz read budget spent");
    return std::string(pages_[id.raw()[0] % pages_.size()]);
  }
  Result<bool> Contains(const Hash&, ObjectKind) override { return true; }
  Status Flush() override { return Status::Ok(); }
  Status Delete(const Hash&, ObjectKind) override { return Status::ReadOnly("fuzz pages"); }
  Status ForEach(ObjectKind, const std::function<Status(const Hash&)>&) override {
    return Status::Ok();
  }

  void ResetBudget() { gets_ = 0; }

 private:
  std::vector<std::string_view> pages_;
  int gets_ = 0;
};

std::vector<std::string_view> CutPages(std::string_view in) {
  std::vector<std::string_view> pages;
  size_t start = 0;
  for (size_t at = in.find("svT", 1); at != std::string_view::npos; at = in.find("svT", at + 1)) {
    pages.push_back(in.substr(start, at - start));
    start = at;
  }
  pages.push_back(in.substr(start));
  return pages;
}

// Walks the tree rooted at page 0 every way a reader does.
void CheckReaders(FakePages& store, const objects::TreePage& root) {
  Hash root_hash;
  root_hash.raw()[Hash::kSize - 1] = 1;  // page 0; neither zero nor the empty tree
  volume::TreeReader reader(&store);

  std::vector<objects::Entry> all;
  store.ResetBudget();
  const Status each = reader.ForEach(root_hash, [&](const objects::Entry& e) {
    all.push_back(e);
    return Status::Ok();
  });
  store.ResetBudget();
  Result<std::vector<objects::Entry>> listed = reader.List(root_hash, "", 0);
  if (each.ok() && listed.ok()) {
    FUZZ_CHECK(listed->size() == all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      FUZZ_CHECK(Deterministic((*listed)[i]) == Deterministic(all[i]));
    }
  }

  std::vector<std::string> names = {"", "\xff"};
  for (size_t i = 0; i < all.size() && i < 16; ++i) names.push_back(all[i].name());
  for (const std::string& name : names) {
    store.ResetBudget();
    Result<std::optional<objects::Entry>> found =
        volume::LookupInTree(root_hash, name, volume::DirectPages(store));
    if (found.ok() && *found) FUZZ_CHECK((*found)->name() == name);
    // In a single leaf every entry is found.
    if (root.level() == 0 && !name.empty() && name != "\xff") {
      FUZZ_CHECK_MSG(found.ok() && *found, found.ok() ? "not found" : found.status().ToString());
    }
    store.ResetBudget();
    Result<std::vector<objects::Entry>> after = reader.List(root_hash, name, 3);
    if (after.ok()) {
      FUZZ_CHECK(after->size() <= 3);
      for (const objects::Entry& e : *after) FUZZ_CHECK(name < e.name());
    }
  }
}

}  // namespace
}  // namespace snapvol::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snapvol;
  std::vector<std::string_view> pages = fuzz::CutPages(fuzz::Input(data, size));
  std::optional<objects::TreePage> root;
  for (size_t i = 0; i < pages.size(); ++i) {
    std::optional<objects::TreePage> page = fuzz::DecodeChecked<objects::TreePage>(
        pages[i], store::EncodeTreePage, store::DecodeTreePage);
    if (i == 0) root = std::move(page);
  }
  if (root) {
    fuzz::FakePages store(std::move(pages));
    fuzz::CheckReaders(store, *root);
  }
  return 0;
}
