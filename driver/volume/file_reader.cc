#include "driver/volume/file_reader.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "driver/store/object_codec.h"
#include "driver/volume/inline_pack.h"
#include "driver/volume/worker_pool.h"

namespace snapvol::volume {
namespace {

using core::Hash;

struct Chunk {
  Hash hash;
  bool hole = false;
  uint64_t offset = 0;
  uint64_t size = 0;
};

Status FetchChunk(store::ObjectStore* objects, const Chunk& c, store::ObjectBuffer* out) {
  RETURN_IF_ERROR(store::ReferencedObject(objects->GetInto(c.hash, store::ObjectKind::kChunk, out),
                                          c.hash, store::ObjectKind::kChunk));
  // The store verified the hash; a size that disagrees with the reference
  // means the file's chunk list itself is wrong.
  if (out->size() != c.size) {
    return Status::Corruption("chunk " + c.hash.Hex() + " is " + std::to_string(out->size()) +
                              " bytes, its file expects " + std::to_string(c.size));
  }
  return Status::Ok();
}

}  // namespace

struct FileReader::Impl {
  store::ObjectStore* objects = nullptr;
  bool is_inline = true;
  std::string inline_data;
  std::vector<Chunk> chunks;
  uint64_t chunk_end = 0;  // sum of chunk sizes; reads past it (up to size) see zeros
  int64_t cached = -1;     // index of the chunk in `cache`
  store::ObjectBuffer cache;

  // Index of the chunk holding `offset` (< chunk_end).
  size_t Find(uint64_t offset) const {
    auto it = std::upper_bound(chunks.begin(), chunks.end(), offset,
                               [](uint64_t o, const Chunk& c) { return o < c.offset; });
    return static_cast<size_t>(it - chunks.begin()) - 1;
  }
};

Result<std::unique_ptr<FileReader>> FileReader::Open(store::ObjectStore* objects,
                                                     const objects::Content& content,
                                                     uint64_t size) {
  std::unique_ptr<FileReader> r(new FileReader());
  r->impl_ = std::make_unique<Impl>();
  r->size_ = size;
  Impl& impl = *r->impl_;
  impl.objects = objects;
  const google::protobuf::RepeatedPtrField<objects::ChunkRef>* refs = &content.chunks();
  objects::FileIndex index;
  if (!content.index().empty()) {
    ASSIGN_OR_RETURN(Hash h, store::HashField(content.index(), "file content"));
    ASSIGN_OR_RETURN(index, store::GetFileIndex(*objects, h));
    refs = &index.chunks();
  }
  if (content.has_packed()) {
    ASSIGN_OR_RETURN(impl.inline_data, ReadPacked(*objects, content.packed()));
    return r;
  }
  if (IsInlineContent(content)) {
    impl.inline_data = content.inline_data();
    return r;
  }
  impl.is_inline = false;
  impl.chunks.reserve(refs->size());
  for (const objects::ChunkRef& ref : *refs) {
    Chunk c;
    c.offset = impl.chunk_end;
    c.size = ref.size();
    c.hole = ref.hash().empty();
    if (!c.hole) {
      ASSIGN_OR_RETURN(c.hash, store::HashField(ref.hash(), "file chunk list"));
    }
    if (c.size == 0) continue;
    impl.chunk_end += c.size;
    impl.chunks.push_back(c);
  }
  return r;
}

FileReader::~FileReader() = default;

Result<size_t> FileReader::ReadAt(uint64_t offset, size_t n, char* out) {
  if (offset >= size_) return size_t{0};
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
  Impl& impl = *impl_;
  if (impl.is_inline) {
    size_t have = offset < impl.inline_data.size() ? impl.inline_data.size() - offset : 0;
    size_t copy = std::min(n, have);
    if (copy > 0) std::memcpy(out, impl.inline_data.data() + offset, copy);
    std::memset(out + copy, 0, n - copy);
    return n;
  }
  size_t done = 0;
  while (done < n) {
    uint64_t pos = offset + done;
    if (pos >= impl.chunk_end) {
      std::memset(out + done, 0, n - done);
      break;
    }
    size_t i = impl.Find(pos);
    const Chunk& c = impl.chunks[i];
    uint64_t in_chunk = pos - c.offset;
    size_t take = static_cast<size_t>(std::min<uint64_t>(n - done, c.size - in_chunk));
    if (c.hole) {
      std::memset(out + done, 0, take);
    } else {
      if (impl.cached != static_cast<int64_t>(i)) {
        impl.cached = -1;
        RETURN_IF_ERROR(FetchChunk(impl.objects, c, &impl.cache));
        impl.cached = static_cast<int64_t>(i);
      }
      std::memcpy(out + done, impl.cache.data() + in_chunk, take);
    }
    done += take;
  }
  return n;
}

Status FileReader::ReadAll(const std::function<Status(std::string_view)>& sink) {
  Impl& impl = *impl_;
  uint64_t left = size_;
  static const std::string kZeros(1 << 20, '\0');
  auto zeros = [&](uint64_t n) -> Status {
    while (n > 0) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, kZeros.size()));
      RETURN_IF_ERROR(sink(std::string_view(kZeros.data(), k)));
      n -= k;
    }
    return Status::Ok();
  };
  if (impl.is_inline) {
    std::string_view data(impl.inline_data);
    data = data.substr(0, static_cast<size_t>(std::min<uint64_t>(data.size(), left)));
    if (!data.empty()) RETURN_IF_ERROR(sink(data));
    return zeros(left - data.size());
  }

  size_t data_chunks = 0;
  for (const Chunk& c : impl.chunks) data_chunks += c.hole ? 0 : 1;
  // Declared before the pool, so on an early return the pool's destructor
  // waits for the fetches still writing into them before they go away.
  std::vector<store::ObjectBuffer> buffers;
  std::unique_ptr<WorkerPool> pool;
  if (data_chunks > 1) pool = std::make_unique<WorkerPool>(WorkerPool::DefaultThreads());
  // Fetches (read + verify) run this many data chunks ahead of the sink:
  // enough to keep the workers busy while the sink writes, little enough to
  // bound memory to a few chunks. Each in-flight fetch and the chunk the
  // sink is consuming own one buffer of a ring; a buffer is handed to a new
  // fetch only after the sink is done with it.
  const size_t depth = pool ? pool->threads() + 2 : 1;
  buffers.resize(depth);
  std::deque<std::future<Status>> ahead;
  size_t next = 0;       // next chunk to schedule
  size_t scheduled = 0;  // data chunks scheduled so far (picks the buffer)
  auto schedule = [&] {
    while (pool && next < impl.chunks.size() && ahead.size() < depth) {
      const Chunk& c = impl.chunks[next++];
      if (c.hole) continue;
      store::ObjectBuffer* buf = &buffers[scheduled++ % depth];
      ahead.push_back(pool->Submit([o = impl.objects, c, buf] { return FetchChunk(o, c, buf); }));
    }
  };

  size_t consumed = 0;  // data chunks handed to the sink so far
  for (size_t i = 0; i < impl.chunks.size() && left > 0; ++i) {
    const Chunk& c = impl.chunks[i];
    uint64_t take = std::min<uint64_t>(c.size, left);
    if (c.hole) {
      RETURN_IF_ERROR(zeros(take));
    } else {
      store::ObjectBuffer* buf = &buffers[consumed++ % depth];
      if (pool) {
        schedule();
        Status got = ahead.front().get();
        ahead.pop_front();
        RETURN_IF_ERROR(got);
      } else {
        RETURN_IF_ERROR(FetchChunk(impl.objects, c, buf));
      }
      RETURN_IF_ERROR(sink(buf->view().substr(0, static_cast<size_t>(take))));
    }
    left -= take;
  }
  return zeros(left);
}

Status FileReader::ReadAllUnordered(const std::function<Status(uint64_t, std::string_view)>& sink) {
  Impl& impl = *impl_;
  if (impl.is_inline) {
    std::string_view data(impl.inline_data);
    data = data.substr(0, static_cast<size_t>(std::min<uint64_t>(data.size(), size_)));
    return data.empty() ? Status::Ok() : sink(0, data);
  }
  std::vector<size_t> todo;  // data chunks that start inside the file
  for (size_t i = 0; i < impl.chunks.size(); ++i) {
    const Chunk& c = impl.chunks[i];
    if (!c.hole && c.offset < size_) todo.push_back(i);
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;  // guarded by mu
  auto fail = [&](Status s) {
    std::lock_guard<std::mutex> l(mu);
    if (first.ok()) first = std::move(s);
    failed.store(true);
  };
  // Each worker claims chunks in file order and carries one chunk from the
  // store to the sink: its buffer is reused and stays hot in its cache.
  auto work = [&] {
    store::ObjectBuffer buf;
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= todo.size() || failed.load()) return;
      const Chunk& c = impl.chunks[todo[k]];
      Status s = FetchChunk(impl.objects, c, &buf);
      if (s.ok()) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(c.size, size_ - c.offset));
        s = sink(c.offset, buf.view().substr(0, take));
      }
      if (!s.ok()) return fail(std::move(s));
    }
  };
  if (todo.size() <= 1) {
    work();
    return first;
  }
  {
    // More threads than cores: a worker waiting for its chunk's read keeps
    // the disk busy while the others hash and write.
    WorkerPool pool(std::min(todo.size(), std::max<size_t>(WorkerPool::DefaultThreads(), 4)));
    for (size_t t = 0; t < pool.threads(); ++t) pool.Submit(work);
  }  // joins: every task has finished
  return first;
}

}  // namespace snapvol::volume
