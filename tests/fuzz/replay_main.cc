// main() of the fuzz targets in the ordinary build (no libFuzzer): runs
// every file named on the command line, and every file in each named
// directory, through LLVMFuzzerTestOneInput once. ctest runs it over the
// committed corpus (tests/fuzz/corpus/<target>), so every seed and every
// input that once crashed a parser stays a regression test.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace stdfs = std::filesystem;
  std::vector<stdfs::path> files;
  for (int i = 1; i < argc; ++i) {
    const stdfs::path arg(argv[i]);
    if (!stdfs::is_directory(arg)) {
      files.push_back(arg);
      continue;
    }
    for (const auto& e : stdfs::directory_iterator(arg)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const stdfs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", f.c_str());
      return 1;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return files.empty() ? 1 : 0;
}
