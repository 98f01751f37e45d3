// Times the phases of loading a snapshot: reading and checking the file, and
// decoding it into an engine. Run: build/bench/snapshot_load <data dir> <lsn>.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/engine.h"
#include "storage/posix_file.h"
#include "storage/snapshot_reader.h"

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: snapshot_load <data dir> <lsn>\n");
    return 2;
  }
  exactly::storage::PosixFileSystem fs;
  const auto start = std::chrono::steady_clock::now();
  auto snapshot = exactly::storage::ReadSnapshot(fs, argv[1],
                                                 exactly::Lsn{std::strtoull(argv[2], nullptr, 10)});
  if (!snapshot.ok()) {
    std::fprintf(stderr, "%s\n", snapshot.status().ToString().c_str());
    return 1;
  }
  const double read_s = SecondsSince(start);
  const auto decode_start = std::chrono::steady_clock::now();
  exactly::core::Engine engine;
  const auto status = engine.LoadState(snapshot->state);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  const double decode_s = SecondsSince(decode_start);
  std::printf("read and check %.3f s, decode %.3f s (%zu claims, %zu bytes)\n", read_s, decode_s,
              engine.stats().claims, snapshot->state.size());
  return 0;
}
