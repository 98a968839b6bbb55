// Test harness for the CLI integration tests: runs the built `snapvol`
// binary (path from the SNAPVOL_BIN compile definition, or the SNAPVOL_BIN
// environment variable) in a child process against a fresh store directory
// per test, and collects its exit code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace snapvol::cli::testing {

struct RunResult {
  int code = -1;  // exit status; 128 + signal if killed
  std::string out, err;
};

// "code=1\nstdout: ...\nstderr: ..." for assertion messages.
std::string Describe(const RunResult& r);

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs `snapvol args...` with SNAPVOL_STORE set to store() and
  // SNAPVOL_ENV unset (plus `env` entries "K=V"), cwd = dir(), stdin fed
  // from `input` (then closed; never a terminal).
  RunResult Run(const std::vector<std::string>& args, const std::string& input = "",
                const std::vector<std::string>& env = {});
  // Runs and expects exit 0; returns stdout.
  std::string Ok(const std::vector<std::string>& args);
  // Parses `snapvol --json args...`, expecting exit 0.
  nlohmann::json Json(const std::vector<std::string>& args);
  // Starts `snapvol args...` (environment as Run()) without waiting;
  // stdout/stderr go to files in dir(). Returns the pid.
  pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  // waitpid; returns the exit code (128 + signal if killed).
  static int Wait(pid_t pid);
  // What a Spawn()ed process printed (stdout and stderr), for failure messages.
  std::string SpawnOutput(pid_t pid) const;

  // Number of versions in `log --json` of `vol`.
  size_t Versions(const std::string& vol);

  const std::string& dir() const { return dir_; }
  const std::string& store() const { return store_; }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }

 private:
  std::vector<std::string> Envp(const std::vector<std::string>& extra) const;
  std::string dir_, store_;
  std::map<pid_t, std::string> spawn_logs_;
};

// File helpers (absolute paths). They ASSERT-fail the current test on error.
void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644);
std::string ReadFile(const std::string& path);
bool Exists(const std::string& path);  // lstat
void MakeDirs(const std::string& path);
// Deterministic pseudo-random bytes.
std::string RandomBytes(size_t n, uint64_t seed);
// Sets the mtime of `path` (not following symlinks).
void SetMtime(const std::string& path, int64_t sec, long nsec);
// Files, directories and symlinks under `dir` (relative paths, sorted).
std::vector<std::string> ListTree(const std::string& dir);

}  // namespace snapvol::cli::testing
