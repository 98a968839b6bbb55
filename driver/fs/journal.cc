#include "driver/fs/journal.h"

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
  out.good_bytes = kMagic.size();
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
    out.good_bytes += kHeader + len;
  }
  return out;
}

Result<JournalContents> ReadJournalFile(const std::string& path, core::Env* env) {
  Result<std::string> bytes = env->ReadFile(path);
  if (!bytes.ok()) {
    if (bytes.status().Is(core::Code::kNotFound)) {
      return Status::NotFound("journal " + path + " not found");
    }
    return bytes.status().Annotate("reading journal");
  }
  Result<JournalContents> r = DecodeJournal(*bytes);
  if (!r.ok()) return r.status().Annotate(path);
  return r;
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir, uint64_t gen,
                                               core::Env* env) {
  std::unique_ptr<Journal> j(new Journal(dir, env));
  std::lock_guard<std::mutex> lock(j->mu_);
  RETURN_IF_ERROR(j->OpenGen(gen));
  return j;
}

Journal::~Journal() = default;

std::string Journal::PathOf(uint64_t gen) const { return MountDirLayout(dir_).JournalFile(gen); }

Status Journal::OpenGen(uint64_t gen) {
  const std::string path = PathOf(gen);
  ASSIGN_OR_RETURN(std::unique_ptr<core::RandomRWFile> file,
                   env_->NewRandomRWFile(path, core::OpenMode::kOpenOrCreate));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  uint64_t end = 0;
  if (size > 0) {
    // An existing generation: continue after its last whole record, so a
    // torn tail (a crash, a full disk) does not hide the records after it.
    std::string bytes(size, '\0');
    ASSIGN_OR_RETURN(size_t got, file->Read(0, size, bytes.data()));
    bytes.resize(got);
    Result<JournalContents> old = DecodeJournal(bytes);
    if (!old.ok()) return old.status().Annotate(path);
    end = old->good_bytes;
  }
  if (end < kMagic.size()) {
    RETURN_IF_ERROR(file->Write(0, kMagic).Annotate("starting journal " + path));
    end = kMagic.size();
  }
  if (size > end) RETURN_IF_ERROR(file->Truncate(end).Annotate("cutting journal " + path));
  if (file_ != nullptr) unsynced_.push_back(gen_);
  file_ = std::move(file);
  gen_ = gen;
  end_ = end;
  named_ = false;
  return Status::Ok();
}

Status Journal::Append(const mount::JournalRecord& record) {
  std::string bytes = EncodeJournalRecord(record);
  std::lock_guard<std::mutex> lock(mu_);
  Status s = file_->Write(end_, bytes);
  if (!s.ok()) {
    // Not acknowledged: the next record overwrites it. Cut it off too, so a
    // reader stops at end_ even if nothing is appended again (best effort).
    (void)file_->Truncate(end_);
    return s.Annotate("appending to journal " + PathOf(gen_));
  }
  end_ += bytes.size();
  return Status::Ok();
}

Status Journal::SyncFailed(uint64_t gen, Status s) {
  sync_failed_gen_ = gen;
  sync_error_ = s.Annotate("syncing the journal");
  return sync_error_;
}

Status Journal::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (sync_failed_gen_ != 0) return sync_error_;
  while (!unsynced_.empty()) {
    const uint64_t g = unsynced_.back();
    Status s = env_->SyncFile(PathOf(g));
    if (!s.ok()) return SyncFailed(g, s);
    unsynced_.pop_back();
  }
  if (Status s = file_->Sync(); !s.ok()) return SyncFailed(gen_, s);
  if (!named_) {
    // The new generations' names (this one's and rotated ones') must
    // survive too.
    if (Status s = env_->SyncDir(dir_); !s.ok()) return SyncFailed(gen_, s);
    named_ = true;
  }
  return Status::Ok();
}

Result<uint64_t> Journal::Rotate() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t closed = gen_;
  RETURN_IF_ERROR(OpenGen(gen_ + 1));
  return closed;
}

Status Journal::RemoveThrough(uint64_t gen) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> gens, List(dir_, env_));
  std::lock_guard<std::mutex> lock(mu_);
  for (uint64_t g : gens) {
    if (g > gen || g == gen_) continue;
    Status s = env_->RemoveFile(PathOf(g));
    if (!s.ok() && !s.Is(core::Code::kNotFound)) return s.Annotate("removing a journal");
  }
  std::erase_if(unsynced_, [&](uint64_t g) { return g <= gen; });
  // The records a failed Sync may have lost are in the store now.
  if (sync_failed_gen_ != 0 && sync_failed_gen_ <= gen && sync_failed_gen_ != gen_) {
    sync_failed_gen_ = 0;
    sync_error_ = Status::Ok();
  }
  return Status::Ok();
}

uint64_t Journal::gen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return gen_;
}

Result<std::vector<uint64_t>> Journal::List(const std::string& dir, core::Env* env) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  std::vector<uint64_t> gens;
  for (const std::string& name : names) {
    if (auto g = MountDirLayout::ParseJournalName(name)) gens.push_back(*g);
  }
  std::sort(gens.begin(), gens.end());
  return gens;
}

}  // namespace snapvol::fs
