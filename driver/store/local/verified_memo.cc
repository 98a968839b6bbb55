#include "driver/store/local/verified_memo.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string_view>

namespace snapvol::store {

std::string VerifiedIdentity(const struct stat& st) {
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

bool VerifiedBefore(int fd, const struct stat& st) {
  char buf[128];
  const ssize_t n = ::fgetxattr(fd, kVerifiedXattr, buf, sizeof(buf));
  return n > 0 && std::string_view(buf, static_cast<size_t>(n)) == VerifiedIdentity(st);
}

void RememberVerified(int fd, const struct stat& st) {
  const std::string id = VerifiedIdentity(st);
  (void)::fsetxattr(fd, kVerifiedXattr, id.data(), id.size(), 0);
}

void RememberVerified(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (::fstat(fd, &st) == 0) RememberVerified(fd, st);
  ::close(fd);
}

}  // namespace snapvol::store
