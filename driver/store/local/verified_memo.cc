#include "driver/store/local/verified_memo.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace snapvol::store {
namespace {

std::string Time(const struct timespec& t) {
  return std::to_string(t.tv_sec) + "." + std::to_string(t.tv_nsec);
}

}  // namespace

std::string FileIdentity(const struct stat& st) {
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + Time(st.st_mtim);
}

std::string VerifiedIdentity(const struct stat& st) {
  return "2:" + FileIdentity(st) + ":" + Time(st.st_ctim);
}

bool MemoMatches(const std::string& memo, const struct stat& st) {
  const int fd = ::open(memo.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[128];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  return n > 0 && std::string(buf, static_cast<size_t>(n)) == VerifiedIdentity(st);
}

void WriteMemo(const std::string& memo, const std::string& memo_dir, const std::string& tmp,
               const struct stat& st) {
  // Written aside and renamed, so a reader (or a concurrent writer) never
  // sees a mix of two memos; a temp left by a crash is cleaned as any other.
  const std::string id = VerifiedIdentity(st);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const bool written = ::write(fd, id.data(), id.size()) == static_cast<ssize_t>(id.size());
  if (::close(fd) == 0 && written) {
    if (::rename(tmp.c_str(), memo.c_str()) == 0) return;
    if (errno == ENOENT && (::mkdir(memo_dir.c_str(), 0700) == 0 || errno == EEXIST) &&
        ::rename(tmp.c_str(), memo.c_str()) == 0) {
      return;
    }
  }
  ::unlink(tmp.c_str());
}

}  // namespace snapvol::store
