// Shared by the fuzz targets (docs/fuzzing.md): invariant checks that abort
// with a message (libFuzzer then saves the input as a crash), and cutting
// one input into parts. Each target defines LLVMFuzzerTestOneInput; the
// fuzz build links libFuzzer's main, the ordinary build replay_main.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace snapvol::fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* cond,
                              const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s %s\n", file, line, cond, detail.c_str());
  std::abort();
}

inline std::string_view Input(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The parts of `s` between occurrences of `sep` (all of `s` if none).
inline std::vector<std::string_view> Split(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> out;
  for (size_t at = s.find(sep); at != std::string_view::npos; at = s.find(sep)) {
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + sep.size());
  }
  out.push_back(s);
  return out;
}

// Whether `s` holds a C0 control, DEL or (as UTF-8) a C1 control: what
// must never reach a terminal unescaped (core::EscapeBytes).
inline bool HasControl(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<uint8_t>(s[i + 1]) < 0xA0) return true;
  }
  return false;
}

}  // namespace snapvol::fuzz

// Aborts when `cond` is false; `detail` (a std::string expression) is printed.
#define FUZZ_CHECK_MSG(cond, detail) \
  ((cond) ? (void)0 : ::snapvol::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)))
#define FUZZ_CHECK(cond) FUZZ_CHECK_MSG(cond, std::string())
