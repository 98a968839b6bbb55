#include "driver/csi/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace snapvol::csi {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool ParseLogLevel(const std::string& text, LogLevel* level) {
  if (text == "debug")
    *level = LogLevel::kDebug;
  else if (text == "info")
    *level = LogLevel::kInfo;
  else if (text == "warning" || text == "warn")
    *level = LogLevel::kWarning;
  else if (text == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

void LogLine(LogLevel level, const std::string& message) {
  static const char kLetters[] = {'D', 'I', 'W', 'E'};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%m%d %H:%M:%S", &tm);
  std::lock_guard lock(g_mu);
  std::fprintf(stderr, "%c%s snapvol-driver] %s\n", kLetters[static_cast<int>(level)], stamp,
               message.c_str());
  std::fflush(stderr);
}

}  // namespace snapvol::csi
