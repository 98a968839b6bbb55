#include "driver/fs/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "driver/fs/state_layout.h"

namespace snapvol::fs {
namespace {

constexpr std::string_view kMagic = "svJ1";
constexpr size_t kHeader = 8;
// A record larger than this is treated as garbage (a torn length field).
constexpr uint32_t kMaxRecord = 64 << 20;

std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "appending to " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

uint32_t Crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = MakeTable();
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = table[(c ^ static_cast<uint8_t>(ch)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string EncodeJournalRecord(const mount::JournalRecord& record) {
  std::string payload;
  record.SerializeToString(&payload);
  std::string out;
  out.reserve(kHeader + payload.size());
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  PutU32(&out, Crc32c(payload));
  out += payload;
  return out;
}

Result<JournalContents> DecodeJournal(std::string_view bytes) {
  JournalContents out;
  if (bytes.size() < kMagic.size()) {
    // A crash right after creating the file leaves it empty or short.
    out.torn = !bytes.empty();
    return out;
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return Status::Corruption("journal does not start with the magic \"svJ1\"");
  }
  bytes.remove_prefix(kMagic.size());
  while (!bytes.empty()) {
    if (bytes.size() < kHeader) {
      out.torn = true;
      break;
    }
    uint32_t len = GetU32(bytes.data());
    uint32_t crc = GetU32(bytes.data() + 4);
    if (len > kMaxRecord || bytes.size() - kHeader < len) {
      out.torn = true;
      break;
    }
    std::string_view payload = bytes.substr(kHeader, len);
    mount::JournalRecord record;
    if (Crc32c(payload) != crc ||
        !record.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      out.torn = true;
      break;
    }
    out.records.push_back(std::move(record));
    bytes.remove_prefix(kHeader + len);
  }
  return out;
}

Result<JournalContents> ReadJournalFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("journal " + path + " not found");
    return Status::FromErrno(errno, "opening journal " + path);
  }
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "reading journal " + path);
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  Result<JournalContents> r = DecodeJournal(bytes);
  if (!r.ok()) return r.status().Annotate(path);
  return r;
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir, uint64_t gen) {
  std::unique_ptr<Journal> j(new Journal(dir));
  RETURN_IF_ERROR(j->OpenGen(gen));
  return j;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::OpenGen(uint64_t gen) {
  const std::string path = MountDirLayout(dir_).JournalFile(gen);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "opening journal " + path);
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end == 0) {
    Status s = WriteAll(fd, kMagic, path);
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  gen_ = gen;
  return Status::Ok();
}

Status Journal::Append(const mount::JournalRecord& record) {
  std::string bytes = EncodeJournalRecord(record);
  std::lock_guard<std::mutex> lock(mu_);
  return WriteAll(fd_, bytes, MountDirLayout(dir_).JournalFile(gen_));
}

Status Journal::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, "syncing the journal");
  return Status::Ok();
}

Result<uint64_t> Journal::Rotate() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t closed = gen_;
  RETURN_IF_ERROR(OpenGen(gen_ + 1));
  return closed;
}

Status Journal::RemoveThrough(uint64_t gen) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> gens, List(dir_));
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t g : gens) {
    if (g > gen || g == gen_) continue;
    const std::string path = MountDirLayout(dir_).JournalFile(g);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "removing journal " + path);
    }
  }
  return Status::Ok();
}

uint64_t Journal::gen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gen_;
}

Result<std::vector<uint64_t>> Journal::List(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno(errno, "listing " + dir);
  std::vector<uint64_t> gens;
  while (struct dirent* e = ::readdir(d)) {
    if (auto g = MountDirLayout::ParseJournalName(e->d_name)) gens.push_back(*g);
  }
  ::closedir(d);
  std::sort(gens.begin(), gens.end());
  return gens;
}

}  // namespace snapvol::fs
