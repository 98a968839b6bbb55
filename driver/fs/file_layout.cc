#include "driver/fs/file_layout.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "driver/store/object_codec.h"
#include "driver/volume/inline_pack.h"

namespace snapvol::fs {

const char* Zeros() {
  static const std::string* zeros = new std::string(kZeroBytes, '\0');
  return zeros->data();
}

Result<std::shared_ptr<const FileLayout>> FileLayout::Load(store::ObjectStore* objects,
                                                           const objects::Content& content,
                                                           uint64_t size) {
  std::shared_ptr<FileLayout> layout(new FileLayout());
  layout->size_ = size;
  {
    core::Sha256 key;
    key.Update(content.SerializeAsString());
    const std::string size_text = "\nsize=" + std::to_string(size);
    key.Update(size_text);
    layout->content_key_ = key.Finish();
  }
  if (content.has_packed()) {
    const objects::PackSlice& slice = content.packed();
    layout->inline_ = false;
    Piece p;
    ASSIGN_OR_RETURN(p.hash, volume::CheckPackSlice(slice));
    p.size = slice.size();
    p.object_offset = slice.offset();
    p.object_size = slice.pack_size();
    if (p.size > 0) layout->pieces_.push_back(p);
    layout->stored_end_ = p.size;
    return std::shared_ptr<const FileLayout>(std::move(layout));
  }
  if (volume::IsInlineContent(content)) {
    layout->inline_data_ = content.inline_data();
    return std::shared_ptr<const FileLayout>(std::move(layout));
  }
  layout->inline_ = false;
  objects::FileIndex index;
  const google::protobuf::RepeatedPtrField<objects::ChunkRef>* refs = &content.chunks();
  if (!content.index().empty()) {
    ASSIGN_OR_RETURN(Hash h, store::HashField(content.index(), "file content"));
    ASSIGN_OR_RETURN(index, store::GetFileIndex(*objects, h));
    refs = &index.chunks();
  }
  layout->pieces_.reserve(refs->size());
  uint64_t offset = 0;
  for (const objects::ChunkRef& ref : *refs) {
    if (ref.size() == 0) continue;
    Piece p;
    p.offset = offset;
    p.size = ref.size();
    p.hole = ref.hash().empty();
    if (!p.hole) {
      ASSIGN_OR_RETURN(p.hash, store::HashField(ref.hash(), "file chunk list"));
    }
    p.object_size = p.size;
    offset += p.size;
    layout->pieces_.push_back(p);
  }
  layout->stored_end_ = offset;
  return std::shared_ptr<const FileLayout>(std::move(layout));
}

size_t FileLayout::Find(uint64_t offset) const {
  auto it = std::upper_bound(pieces_.begin(), pieces_.end(), offset,
                             [](uint64_t o, const Piece& p) { return o < p.offset; });
  return static_cast<size_t>(it - pieces_.begin()) - 1;
}

Status FileLayout::Read(ChunkCache& cache, uint64_t off, size_t n,
                        std::vector<Segment>* out) const {
  if (off >= size_) return Status::Ok();
  uint64_t end = std::min<uint64_t>(size_, off + n);
  std::shared_ptr<const void> self = shared_from_this();
  auto zeros = [&](uint64_t len) {
    while (len > 0) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(len, kZeroBytes));
      Segment s;
      s.mem = Zeros();
      s.len = k;
      out->push_back(std::move(s));
      len -= k;
    }
  };
  uint64_t pos = off;
  if (inline_) {
    if (pos < inline_data_.size()) {
      Segment s;
      s.keep = self;
      s.mem = inline_data_.data() + pos;
      s.len = static_cast<size_t>(std::min<uint64_t>(end, inline_data_.size()) - pos);
      pos += s.len;
      out->push_back(std::move(s));
    }
    zeros(end - pos);
    return Status::Ok();
  }
  while (pos < end) {
    if (pos >= stored_end_) {
      zeros(end - pos);
      break;
    }
    const Piece& p = pieces_[Find(pos)];
    uint64_t in_piece = pos - p.offset;
    uint64_t take = std::min<uint64_t>(end - pos, p.size - in_piece);
    if (p.hole) {
      zeros(take);
    } else {
      Result<std::shared_ptr<const ChunkData>> got = cache.Get(p.hash, p.object_size);
      if (!got.ok()) {
        // Missing or corrupt committed data is an I/O error to the reader,
        // never wrong bytes (S10).
        return Status(got.status().code(), got.status().message(), EIO);
      }
      std::shared_ptr<const ChunkData> chunk = std::move(*got);
      Segment s;
      s.len = static_cast<size_t>(take);
      if (chunk->fd >= 0) {
        s.fd = chunk->fd;
        s.pos = p.object_offset + in_piece;
      } else {
        s.mem = chunk->bytes.data() + p.object_offset + in_piece;
      }
      s.keep = std::move(chunk);
      out->push_back(std::move(s));
    }
    pos += take;
  }
  // Read ahead at chunk granularity: verify the next chunks while this one
  // is being served, so a sequential reader does not wait for each (one
  // per cache worker).
  constexpr int kChunksAhead = 2;
  size_t next = end < stored_end_ ? Find(end) : pieces_.size();
  for (int ahead = 0; next < pieces_.size() && ahead < kChunksAhead; ++next) {
    if (pieces_[next].hole || pieces_[next].offset < end) continue;
    cache.Prefetch(pieces_[next].hash, pieces_[next].object_size);
    ++ahead;
  }
  return Status::Ok();
}

namespace {

Status WriteAll(int fd, const char* data, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "writing the upper file");
    }
    data += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

}  // namespace

Status FileLayout::CopyTo(ChunkCache& cache, int fd, uint64_t limit) const {
  limit = std::min(limit, size_);
  if (inline_) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(limit, inline_data_.size()));
    RETURN_IF_ERROR(WriteAll(fd, inline_data_.data(), n, 0));
  } else {
    std::string buf;
    for (const Piece& p : pieces_) {
      if (p.offset >= limit) break;
      if (p.hole) continue;
      uint64_t take = std::min<uint64_t>(p.size, limit - p.offset);
      ASSIGN_OR_RETURN(std::shared_ptr<const ChunkData> chunk, cache.Get(p.hash, p.object_size));
      if (chunk->fd >= 0) {
        buf.resize(static_cast<size_t>(take));
        size_t got = 0;
        while (got < take) {
          ssize_t r = ::pread(chunk->fd, buf.data() + got, take - got,
                              static_cast<off_t>(p.object_offset + got));
          if (r < 0 && errno == EINTR) continue;
          if (r <= 0)
            return Status::FromErrno(r < 0 ? errno : EIO, "reading chunk " + p.hash.Hex());
          got += static_cast<size_t>(r);
        }
        RETURN_IF_ERROR(WriteAll(fd, buf.data(), buf.size(), p.offset));
      } else {
        RETURN_IF_ERROR(WriteAll(fd, chunk->bytes.data() + p.object_offset,
                                 static_cast<size_t>(take), p.offset));
      }
    }
  }
  if (::ftruncate(fd, static_cast<off_t>(limit)) != 0) {
    return Status::FromErrno(errno, "sizing the upper file");
  }
  return Status::Ok();
}

}  // namespace snapvol::fs
