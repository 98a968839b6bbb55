#include "driver/volume/inline_pack.h"

#include <algorithm>
#include <list>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "driver/store/object_codec.h"

namespace snapvol::volume {
namespace {

// The last few packs read, verified. Readers of one directory's small files
// (a download, a copy-up) hit the same pack again and again; without this
// each file would fetch and hash its whole pack. Process-wide: packs are
// named by their SHA-256, so one name is one content whatever the store.
class RecentPacks {
 public:
  std::shared_ptr<const std::string> Find(const core::Hash& h) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = packs_.begin(); it != packs_.end(); ++it) {
      if (it->first == h) {
        packs_.splice(packs_.begin(), packs_, it);
        return packs_.front().second;
      }
    }
    return nullptr;
  }
  void Add(const core::Hash& h, std::shared_ptr<const std::string> bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    packs_.emplace_front(h, std::move(bytes));
    if (packs_.size() > kKeep) packs_.pop_back();
  }

 private:
  static constexpr size_t kKeep = 8;
  std::mutex mu_;
  std::list<std::pair<core::Hash, std::shared_ptr<const std::string>>> packs_;
};

RecentPacks& Recent() {
  static RecentPacks* recent = new RecentPacks();
  return *recent;
}

}  // namespace

bool IsInlineContent(const objects::Content& c) {
  return c.chunks_size() == 0 && c.index().empty() && !c.has_packed();
}

namespace {

// Packs the inline bytes of `contents`, in order, into packs of about
// kPackTargetBytes, pointing each at its slice and freeing its bytes.
Status PackContents(store::ObjectStore& objects, const std::vector<objects::Content*>& contents) {
  struct Member {
    objects::Content* content;
    uint64_t offset;
    uint64_t size;
  };
  std::string pack;
  std::vector<Member> members;
  auto seal = [&]() -> Status {
    if (members.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(core::Hash h, objects.PutContent(store::ObjectKind::kChunk, pack));
    for (const Member& m : members) {
      std::string().swap(*m.content->mutable_inline_data());
      objects::PackSlice* s = m.content->mutable_packed();
      s->set_hash(std::string(h.Bytes()));
      s->set_pack_size(pack.size());
      s->set_offset(m.offset);
      s->set_size(m.size);
    }
    pack.clear();
    members.clear();
    return Status::Ok();
  };
  for (objects::Content* c : contents) {
    const size_t n = c->inline_data().size();
    if (!pack.empty() && pack.size() + n > kPackTargetBytes) RETURN_IF_ERROR(seal());
    members.push_back(Member{c, pack.size(), n});
    pack += c->inline_data();
  }
  return seal();
}

bool Packable(const objects::Entry& e) {
  return e.type() == objects::FILE && e.has_content() && IsInlineContent(e.content()) &&
         e.content().inline_data().size() > kPackMinBytes;
}

}  // namespace

Status PackInline(store::ObjectStore& objects,
                  std::map<std::string, std::optional<objects::Entry>>* changes) {
  std::vector<objects::Content*> contents;
  for (auto& [name, entry] : *changes) {
    if (entry && Packable(*entry)) contents.push_back(entry->mutable_content());
  }
  return PackContents(objects, contents);
}

Status PackChangeSet(store::ObjectStore& objects, ChangeSet* changes) {
  std::map<std::vector<std::string>, std::vector<ChangeOp*>> by_dir;
  for (ChangeOp& op : *changes->mutable_ops()) {
    if (op.kind != ChangeOp::Kind::kPut || op.path.empty() || !Packable(op.entry)) continue;
    by_dir[std::vector<std::string>(op.path.begin(), op.path.end() - 1)].push_back(&op);
  }
  for (auto& [dir, ops] : by_dir) {
    std::stable_sort(ops.begin(), ops.end(), [](const ChangeOp* a, const ChangeOp* b) {
      return a->path.back() < b->path.back();
    });
    std::vector<objects::Content*> contents;
    contents.reserve(ops.size());
    for (ChangeOp* op : ops) contents.push_back(op->entry.mutable_content());
    RETURN_IF_ERROR(PackContents(objects, contents));
  }
  return Status::Ok();
}

Result<core::Hash> CheckPackSlice(const objects::PackSlice& slice) {
  ASSIGN_OR_RETURN(core::Hash h, store::HashField(slice.hash(), "pack slice"));
  if (slice.offset() > slice.pack_size() || slice.size() > slice.pack_size() - slice.offset()) {
    return Status::Corruption("pack slice [" + std::to_string(slice.offset()) + ", +" +
                              std::to_string(slice.size()) + ") lies outside pack " + h.Hex() +
                              " of " + std::to_string(slice.pack_size()) + " bytes");
  }
  return h;
}

Result<std::string> ReadPacked(store::ObjectStore& objects, const objects::PackSlice& slice) {
  ASSIGN_OR_RETURN(core::Hash h, CheckPackSlice(slice));
  std::shared_ptr<const std::string> pack = Recent().Find(h);
  if (pack == nullptr) {
    Result<std::string> bytes = objects.Get(h, store::ObjectKind::kChunk);
    if (!bytes.ok()) return store::ReferencedObject(bytes.status(), h, store::ObjectKind::kChunk);
    pack = std::make_shared<const std::string>(std::move(*bytes));
    Recent().Add(h, pack);
  }
  if (pack->size() != slice.pack_size()) {
    return Status::Corruption("pack " + h.Hex() + " is " + std::to_string(pack->size()) +
                              " bytes, its reference says " + std::to_string(slice.pack_size()));
  }
  return pack->substr(static_cast<size_t>(slice.offset()), static_cast<size_t>(slice.size()));
}

}  // namespace snapvol::volume
