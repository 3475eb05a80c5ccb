// Tar entry handling: arbitrary bytes (plain, gzip or zstd, by their magic)
// unpacked into a fresh directory. Whatever the input, nothing may appear
// beside that directory: a violation aborts, which libFuzzer reports.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "image/layer/unpack.h"

namespace fs = std::filesystem;
using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path base = fs::temp_directory_path() / ("berth-fuzz-layer-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "root");
  int root = ::open((base / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) std::abort();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  layer::Source source = [&](char* buf, size_t cap) -> absl::StatusOr<size_t> {
    size_t n = std::min(cap, input.size() - pos);
    std::memcpy(buf, input.data() + pos, n);
    pos += n;
    return n;
  };
  layer::UnpackOptions options;
  options.maxBytes = 16 << 20;
  options.maxEntries = 10000;
  (void)layer::unpackLayer(source, layer::sniffCompression(input), root, options);
  ::close(root);
  for (const fs::directory_entry& e : fs::directory_iterator(base)) {
    if (e.path().filename() != "root") std::abort();
  }
  fs::remove_all(base);
  return 0;
}
