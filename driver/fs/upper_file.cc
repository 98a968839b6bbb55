#include "driver/fs/upper_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "driver/volume/file_writer.h"

namespace snapvol::fs {

Result<std::shared_ptr<UpperFile>> UpperFile::Create(const std::string& path, uint64_t id) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "creating upper file " + path);
  return std::shared_ptr<UpperFile>(new UpperFile(fd, id, path));
}

Result<std::shared_ptr<UpperFile>> UpperFile::Open(const std::string& path, uint64_t id) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("upper file " + path + " not found");
    return Status::FromErrno(errno, "opening upper file " + path);
  }
  return std::shared_ptr<UpperFile>(new UpperFile(fd, id, path));
}

UpperFile::~UpperFile() { ::close(fd_); }

Result<uint64_t> UpperFile::Size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat of upper file " + path_);
  return static_cast<uint64_t>(st.st_size);
}

int64_t UpperFile::MonotonicNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool UpperFile::WaitQuiet(int64_t quiet_ns, int64_t deadline_ns) const {
  for (;;) {
    const int64_t now = MonotonicNanos();
    const int64_t since = now - last_write_ns_.load();
    if (inflight_.load() == 0 && since >= quiet_ns) return true;
    if (now >= deadline_ns) return false;
    const int64_t wait =
        std::min(quiet_ns - std::min(since, quiet_ns) + 1'000'000, deadline_ns - now);
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<int64_t>(wait, 1'000'000)));
  }
}

Status UpperFile::Truncate(uint64_t size) {
  WriteScope scope(this);
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return Status::FromErrno(errno, "truncating upper file " + path_);
  }
  return Status::Ok();
}

Status UpperFile::Sync() {
  if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "syncing upper file " + path_);
  return Status::Ok();
}

void UpperFile::Unlink() { ::unlink(path_.c_str()); }

Result<UpperFile::Snap> UpperFile::ReadInto(store::ObjectStore* objects) {
  ASSIGN_OR_RETURN(uint64_t size, Size());
  volume::FileWriter writer(objects);
  std::string buf;
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(fd_, static_cast<off_t>(pos), SEEK_DATA);
    uint64_t data_at = data < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(data), size);
    if (data < 0 && errno != ENXIO) return Status::FromErrno(errno, "SEEK_DATA in " + path_);
    if (data_at > pos) {
      RETURN_IF_ERROR(writer.WriteHole(data_at - pos));
      pos = data_at;
      if (pos >= size) break;
    }
    off_t hole = ::lseek(fd_, static_cast<off_t>(pos), SEEK_HOLE);
    uint64_t hole_at = hole < 0 ? size : std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    while (pos < hole_at) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(hole_at - pos, 1 << 20));
      buf.resize(want);
      ssize_t n = ::pread(fd_, buf.data(), want, static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "reading upper file " + path_);
      }
      if (n == 0) {  // shrank under us; the version check rejects this read
        RETURN_IF_ERROR(writer.WriteHole(size - pos));
        pos = size;
        break;
      }
      RETURN_IF_ERROR(writer.Write(std::string_view(buf.data(), static_cast<size_t>(n))));
      pos += static_cast<uint64_t>(n);
    }
  }
  Snap snap;
  snap.size = writer.size();
  ASSIGN_OR_RETURN(snap.content, writer.Finish());
  return snap;
}

Result<std::optional<UpperFile::Snap>> UpperFile::Snapshot(store::ObjectStore* objects,
                                                           int attempts) {
  for (int i = 0; i < std::max(attempts, 1); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2 << i));
    if (inflight_.load() != 0) continue;
    const uint64_t before = version_.load();
    if (inflight_.load() != 0) continue;
    ASSIGN_OR_RETURN(Snap snap, ReadInto(objects));
    if (inflight_.load() == 0 && version_.load() == before) return std::optional<Snap>(snap);
  }
  return std::optional<Snap>();
}

}  // namespace snapvol::fs
