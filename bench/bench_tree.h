// The file tree the mount benchmark walks, shared by `fs_ops tree` (which
// writes it into a directory) and make_volume (which commits it straight
// into a volume), so both produce the same names, sizes and bytes:
//   dK/fI            file I (0 <= I < N) in directory K = I / kTreeFilesPerDir,
//                    1-4 KiB of one repeated letter, sizes from a fixed LCG
//   deep/a/b/c/d/e/f/g/leaf.txt   "leaf\n" (the first-byte row)
#pragma once

#include <cstdint>
#include <string>

namespace snapvol::bench {

inline constexpr long kTreeFilesPerDir = 1000;
inline constexpr const char* kTreeDeepDirs[] = {"deep", "a", "b", "c", "d", "e", "f", "g"};
inline constexpr char kTreeLeafName[] = "leaf.txt";
inline constexpr char kTreeLeafData[] = "leaf\n";

// Name of file `i`'s directory and of the file itself.
inline std::string TreeDirName(long i) { return "d" + std::to_string(i / kTreeFilesPerDir); }
inline std::string TreeFileName(long i) { return "f" + std::to_string(i); }

// The contents of files 0, 1, 2 ... in order (call Next once per file).
class TreeFileData {
 public:
  std::string Next(long i) {
    seed_ = seed_ * 6364136223846793005ULL + 1442695040888963407ULL;
    size_t size = 1024 + static_cast<size_t>((seed_ >> 33) % 3072);
    return std::string(size, static_cast<char>('a' + i % 26));
  }

 private:
  uint64_t seed_ = 42;
};

}  // namespace snapvol::bench
