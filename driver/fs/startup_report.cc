#include "driver/fs/startup_report.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace snapvol::fs {

std::string EncodeStartup(const core::Status& s) {
  if (s.ok()) return "OK\n";
  std::string message = s.message();
  // One line: a message that spans lines would end the report early.
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  return "ERR " + std::to_string(static_cast<int>(s.code())) + " " + std::to_string(s.sys_errno()) +
         " " + message + "\n";
}

core::Status DecodeStartup(const std::string& msg) {
  if (msg == "OK\n" || msg == "OK") return core::Status::Ok();
  int code = 0, err = 0, used = 0;
  if (msg.rfind("ERR ", 0) == 0 &&
      std::sscanf(msg.c_str(), "ERR %d %d %n", &code, &err, &used) >= 2 && code > 0 &&
      code <= static_cast<int>(core::Code::kInternal)) {
    std::string text = msg.substr(static_cast<size_t>(used));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return core::Status(static_cast<core::Code>(code), text, err);
  }
  return core::Status::Internal("the mount server exited during startup" +
                                (msg.empty() ? std::string() : ": " + msg));
}

void WriteStartup(int fd, const core::Status& status) {
  const std::string s = EncodeStartup(status);
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace snapvol::fs
