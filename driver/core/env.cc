// The non-virtual helpers of the Env interfaces (env.h): loops over the
// virtual calls, the same for every Env.
#include "driver/core/env.h"

#include <cerrno>

namespace snapvol::core {

Status RandomRWFile::Write(uint64_t offset, std::string_view data) {
  while (!data.empty()) {
    ASSIGN_OR_RETURN(size_t n, WriteSome(offset, data));
    if (n == 0) return Status::FromErrno(EIO, "write made no progress");
    data.remove_prefix(n);
    offset += n;
  }
  return Status::Ok();
}

Result<size_t> RandomRWFile::Read(uint64_t offset, size_t n, char* scratch) const {
  size_t done = 0;
  while (done < n) {
    ASSIGN_OR_RETURN(size_t r, ReadSome(offset + done, n - done, scratch + done));
    if (r == 0) break;
    done += r;
  }
  return done;
}

}  // namespace snapvol::core
