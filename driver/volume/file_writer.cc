#include "driver/volume/file_writer.h"

#include <algorithm>
#include <deque>
#include <future>
#include <optional>
#include <vector>

#include "driver/store/object_codec.h"
#include "driver/volume/worker_pool.h"

namespace snapvol::volume {
namespace {

using core::Hash;

// A chunk (or hole) in stream order whose hash may still be computing.
struct Pending {
  std::optional<std::future<Result<Hash>>> hash;  // none for a hole
  uint64_t size = 0;
};

// The store names the chunk: hashing here and passing the name to Put would
// hash every byte twice (the store checks Put's name).
Result<Hash> StoreChunk(store::ObjectStore* objects, std::string_view data) {
  return objects->PutContent(store::ObjectKind::kChunk, data);
}

}  // namespace

struct FileWriter::Impl {
  Impl(store::ObjectStore* o, store::ChunkerParams p)
      : objects(o), chunker(p), block_capacity(3 * p.max_size) {}

  store::ObjectStore* objects;
  store::Chunker chunker;
  // The stream is buffered in blocks a few chunks long. A cut chunk is
  // handed to a worker as a view into its block (no copy); only the uncut
  // tail moves when a block fills. Blocks no worker holds any more are
  // reused, so a long stream does not fault in fresh memory per chunk.
  const size_t block_capacity;
  std::shared_ptr<std::string> block;  // bytes not cut yet start at (*block)[off]
  size_t off = 0;
  std::vector<std::shared_ptr<std::string>> spare;
  bool chunked = false;  // past the inline representation
  bool finished = false;
  Status error;
  std::vector<objects::ChunkRef> refs;  // settled, in stream order
  std::deque<Pending> inflight;
  // Declared last so it is destroyed first: its destructor waits for the
  // tasks that still reference `objects` and the blocks.
  std::unique_ptr<WorkerPool> pool;

  size_t MaxInflight() const { return pool ? pool->threads() + 2 : 1; }
  size_t Buffered() const { return block ? block->size() - off : 0; }

  // A block with room for `need` bytes: a spare one no worker references
  // any more, or a fresh one.
  std::shared_ptr<std::string> NewBlock(size_t need) {
    for (auto& b : spare) {
      // use_count 1: no worker task references it any more.
      if (b.use_count() == 1 && b->capacity() >= need) {
        std::shared_ptr<std::string> reused = std::move(b);
        b = std::move(spare.back());
        spare.pop_back();
        reused->clear();
        return reused;
      }
    }
    auto b = std::make_shared<std::string>();
    b->reserve(need);
    return b;
  }

  void Append(std::string_view data) {
    if (!block || block->size() + data.size() > block->capacity()) {
      // Blocks start small (most files are small) and double up to
      // block_capacity. A block is never reallocated in place, so the views
      // workers hold into it stay valid.
      size_t grown = block ? std::min(block_capacity, 2 * block->capacity()) : kInlineLimit;
      std::shared_ptr<std::string> next = NewBlock(std::max(grown, Buffered() + data.size()));
      if (block) {
        next->append(*block, off, std::string::npos);
        if (block->capacity() >= block_capacity) spare.push_back(std::move(block));
      }
      block = std::move(next);
      off = 0;
    }
    block->append(data);
  }

  void Settle(Pending p) {
    objects::ChunkRef r;
    r.set_size(p.size);
    if (p.hash) {
      Result<Hash> h = p.hash->get();
      if (!h.ok()) {
        if (error.ok()) error = h.status();
        return;
      }
      r.set_hash(std::string(h->Bytes()));
    }
    refs.push_back(std::move(r));
  }

  void SettleOne() {
    Pending p = std::move(inflight.front());
    inflight.pop_front();
    Settle(std::move(p));
  }

  void SettleAll() {
    while (!inflight.empty()) SettleOne();
  }

  // Queues the chunk of `n` bytes at the cut position. Memory stays bounded:
  // at most MaxInflight() chunks wait for a worker.
  void Submit(size_t n, bool streaming) {
    if (!pool && streaming) pool = std::make_unique<WorkerPool>(WorkerPool::DefaultThreads());
    while (inflight.size() >= MaxInflight()) SettleOne();
    Pending p;
    p.size = n;
    if (pool) {
      p.hash = pool->Submit([o = objects, b = block, start = off, n] {
        return StoreChunk(o, std::string_view(*b).substr(start, n));
      });
    } else {
      // A file of one or two chunks: not worth starting threads.
      std::promise<Result<Hash>> done;
      done.set_value(StoreChunk(objects, std::string_view(*block).substr(off, n)));
      p.hash = done.get_future();
    }
    inflight.push_back(std::move(p));
  }

  void AddHole(uint64_t n) {
    if (!inflight.empty() && !inflight.back().hash) {
      inflight.back().size += n;
      return;
    }
    if (inflight.empty() && !refs.empty() && refs.back().hash().empty()) {
      refs.back().set_size(refs.back().size() + n);
      return;
    }
    Pending p;
    p.size = n;
    inflight.push_back(std::move(p));
  }

  void Cut(bool eof) {
    while (Buffered() > 0) {
      size_t n =
          chunker.Cut(reinterpret_cast<const uint8_t*>(block->data() + off), Buffered(), eof);
      if (n == 0) break;
      Submit(n, !eof);
      off += n;
    }
  }
};

FileWriter::FileWriter(store::ObjectStore* objects, store::ChunkerParams params)
    : impl_(std::make_unique<Impl>(objects, params)) {}

FileWriter::~FileWriter() = default;

Status FileWriter::Write(std::string_view data) {
  if (impl_->finished) return Status::FailedPrecondition("file writer already finished");
  // Slices keep the buffer near one maximal chunk whatever the caller passes.
  const size_t slice = impl_->chunker.params().max_size;
  while (!data.empty() && impl_->error.ok()) {
    std::string_view piece = data.substr(0, slice);
    data.remove_prefix(piece.size());
    impl_->Append(piece);
    size_ += piece.size();
    if (!impl_->chunked && size_ <= kInlineLimit) continue;
    impl_->chunked = true;
    impl_->Cut(false);
  }
  return impl_->error;
}

Status FileWriter::WriteHole(uint64_t n) {
  if (impl_->finished) return Status::FailedPrecondition("file writer already finished");
  if (!impl_->error.ok() || n == 0) return impl_->error;
  if (!impl_->chunked && size_ + n <= kInlineLimit) {
    impl_->Append(std::string(n, '\0'));
    size_ += n;
    return Status::Ok();
  }
  impl_->chunked = true;
  impl_->Cut(true);
  impl_->AddHole(n);
  size_ += n;
  return impl_->error;
}

Result<objects::Content> FileWriter::Finish() {
  if (impl_->finished) return Status::FailedPrecondition("file writer already finished");
  impl_->finished = true;
  objects::Content content;
  if (!impl_->error.ok()) return impl_->error;
  if (!impl_->chunked) {
    if (impl_->block) content.set_inline_data(impl_->block->substr(impl_->off));
    return content;
  }
  impl_->Cut(true);
  impl_->SettleAll();
  if (!impl_->error.ok()) return impl_->error;
  std::vector<objects::ChunkRef>& refs = impl_->refs;
  if (refs.size() > kMaxDirectChunks) {
    objects::FileIndex index;
    for (auto& r : refs) *index.add_chunks() = std::move(r);
    ASSIGN_OR_RETURN(Hash h, store::PutFileIndex(*impl_->objects, index));
    content.set_index(std::string(h.Bytes()));
  } else {
    for (auto& r : refs) *content.add_chunks() = std::move(r);
  }
  return content;
}

}  // namespace snapvol::volume
