// Minimal leveled logging to stderr for the driver ("I0102 15:04:05 msg",
// like klog, which the sidecars next to it use). Thread-safe. Secrets
// (fields marked csi_secret, S3 credentials) must never be logged.
#pragma once

#include <sstream>
#include <string>

namespace snapvol::csi {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below `level` are dropped. Default kInfo.
void SetLogLevel(LogLevel level);
// "debug", "info", "warning", "error"; false if unknown.
bool ParseLogLevel(const std::string& text, LogLevel* level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, const std::string& message);

// LOG_CSI(kInfo) << "published " << target;
class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Lets LOG_CSI be one expression, safe inside an unbraced if/else.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace snapvol::csi

#define LOG_CSI(level)                                         \
  !::snapvol::csi::LogEnabled(::snapvol::csi::LogLevel::level) \
      ? (void)0                                                \
      : ::snapvol::csi::LogVoidify() &                         \
            ::snapvol::csi::LogMessage(::snapvol::csi::LogLevel::level).stream()
