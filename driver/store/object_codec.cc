#include "driver/store/object_codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <mutex>
#include <vector>

#include "driver/store/object_check.h"

namespace snapvol::store {
namespace {

constexpr std::string_view kTreeMagic = "svT1";
// A page with any entry whose bytes are in a pack (Content.packed): readers
// that predate packs must refuse it instead of reading such files as zeros.
constexpr std::string_view kPackedTreeMagic = "svT2";
constexpr std::string_view kIndexMagic = "svI1";
constexpr std::string_view kCommitMagic = "svC1";

std::string Encode(std::string_view magic, const google::protobuf::MessageLite& msg) {
  std::string out(magic);
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    msg.SerializeToCodedStream(&coded);
  }
  return out;
}

bool HasPacked(const objects::TreePage& p) {
  for (const objects::Entry& e : p.entries()) {
    if (e.content().has_packed()) return true;
  }
  return false;
}

template <typename M>
Result<M> Decode(std::string_view magic, std::string_view bytes, const Hash& id,
                 std::string_view what) {
  if (magic == kTreeMagic && bytes.substr(0, kPackedTreeMagic.size()) == kPackedTreeMagic) {
    magic = kPackedTreeMagic;
  }
  if (bytes.size() < magic.size() || bytes.substr(0, magic.size()) != magic) {
    return Status::Corruption(std::string(what) + " object " + id.Hex() +
                              " has a wrong or unknown format header");
  }
  bytes.remove_prefix(magic.size());
  M msg;
  if (!msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption(std::string(what) + " object " + id.Hex() + " cannot be decoded");
  }
  return msg;
}

Result<Hash> PutEncoded(ObjectStore& store, ObjectKind kind, const std::string& bytes) {
  return store.PutContent(kind, bytes);
}

}  // namespace

std::string EncodeTreePage(const objects::TreePage& p) {
  return Encode(HasPacked(p) ? kPackedTreeMagic : kTreeMagic, p);
}
std::string EncodeFileIndex(const objects::FileIndex& i) { return Encode(kIndexMagic, i); }
std::string EncodeCommit(const objects::Commit& c) { return Encode(kCommitMagic, c); }

Result<objects::TreePage> DecodeTreePage(std::string_view b, const Hash& id) {
  ASSIGN_OR_RETURN(objects::TreePage page, Decode<objects::TreePage>(kTreeMagic, b, id, "tree"));
  // Strict both ways: the header says whether entries are in packs, so one
  // page has exactly one encoding (and one name).
  const bool packed_header = b.substr(0, kPackedTreeMagic.size()) == kPackedTreeMagic;
  if (packed_header != HasPacked(page)) {
    return Status::Corruption("tree object " + id.Hex() + " has a " +
                              std::string(packed_header ? kPackedTreeMagic : kTreeMagic) +
                              " header that does not match its entries");
  }
  RETURN_IF_ERROR(CheckTreePage(page, "tree object " + id.Hex()));
  return page;
}
Result<objects::FileIndex> DecodeFileIndex(std::string_view b, const Hash& id) {
  ASSIGN_OR_RETURN(objects::FileIndex index,
                   Decode<objects::FileIndex>(kIndexMagic, b, id, "file index"));
  RETURN_IF_ERROR(CheckFileIndex(index, "file index object " + id.Hex()));
  return index;
}
Result<objects::Commit> DecodeCommit(std::string_view b, const Hash& id) {
  ASSIGN_OR_RETURN(objects::Commit commit, Decode<objects::Commit>(kCommitMagic, b, id, "commit"));
  RETURN_IF_ERROR(CheckCommit(commit, "commit object " + id.Hex()));
  return commit;
}

// The checks a reader runs, run before writing: what a reader would refuse
// is never stored (so never published).
Result<Hash> PutTreePage(ObjectStore& s, const objects::TreePage& p) {
  RETURN_IF_ERROR(CheckTreePage(p, "new tree page"));
  return PutEncoded(s, ObjectKind::kTree, EncodeTreePage(p));
}
Result<Hash> PutFileIndex(ObjectStore& s, const objects::FileIndex& i) {
  RETURN_IF_ERROR(CheckFileIndex(i, "new file index"));
  return PutEncoded(s, ObjectKind::kIndex, EncodeFileIndex(i));
}
Result<Hash> PutCommit(ObjectStore& s, const objects::Commit& c) {
  RETURN_IF_ERROR(CheckCommit(c, "new commit"));
  return PutEncoded(s, ObjectKind::kCommit, EncodeCommit(c));
}

namespace {

// Tree pages are read into pooled buffers: a page of 1000 small files
// (inlined) is megabytes, and reading it into a fresh std::string
// zero-filled it first (15% of a mount server's CPU in a cold `find`). A few
// buffers are kept for the next reads; more concurrent readers allocate.
class BufferPool {
 public:
  ObjectBuffer Take() {
    std::lock_guard<std::mutex> l(mu_);
    if (free_.empty()) return ObjectBuffer();
    ObjectBuffer b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void Give(ObjectBuffer b) {
    std::lock_guard<std::mutex> l(mu_);
    if (free_.size() < kKeep && b.capacity() <= kKeepBytes) free_.push_back(std::move(b));
  }

 private:
  static constexpr size_t kKeep = 4;
  static constexpr size_t kKeepBytes = 16 << 20;
  std::mutex mu_;
  std::vector<ObjectBuffer> free_;
};

BufferPool& TreeBuffers() {
  static BufferPool* pool = new BufferPool();
  return *pool;
}

}  // namespace

Result<objects::TreePage> GetTreePage(ObjectStore& s, const Hash& id) {
  ObjectBuffer buf = TreeBuffers().Take();
  Status got = ReferencedObject(s.GetInto(id, ObjectKind::kTree, &buf), id, ObjectKind::kTree);
  Result<objects::TreePage> page =
      got.ok() ? DecodeTreePage(buf.view(), id) : Result<objects::TreePage>(got);
  TreeBuffers().Give(std::move(buf));
  return page;
}
Result<objects::FileIndex> GetFileIndex(ObjectStore& s, const Hash& id) {
  Result<std::string> bytes = s.Get(id, ObjectKind::kIndex);
  if (!bytes.ok()) return ReferencedObject(bytes.status(), id, ObjectKind::kIndex);
  return DecodeFileIndex(*bytes, id);
}
Result<objects::Commit> GetCommit(ObjectStore& s, const Hash& id) {
  Result<std::string> bytes = s.Get(id, ObjectKind::kCommit);
  if (!bytes.ok()) return ReferencedObject(bytes.status(), id, ObjectKind::kCommit);
  return DecodeCommit(*bytes, id);
}

Result<Hash> HashField(const std::string& field, std::string_view what) {
  if (field.size() != Hash::kSize) {
    return Status::Corruption(std::string(what) + " holds a malformed object reference");
  }
  return Hash::FromBytes(field);
}

}  // namespace snapvol::store
