// Measures the heap bytes one claim, one account and one remembered transfer id
// cost inside the engine, for docs/limits.md. Run: build/bench/record_memory [n].
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/engine.h"

namespace {

using exactly::Lsn;
using exactly::TimestampMs;
using exactly::core::Command;

// Large blocks (the hash tables' arrays) are mmapped: hblkhd counts those.
size_t HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// Applies `make(i)` for i in [0, n) in batches of 256 and returns heap growth per item.
template <typename Make>
double BytesPerItem(exactly::core::Engine& engine, uint64_t* lsn, size_t n, Make make) {
  const size_t before = HeapBytes();
  exactly::core::BatchOutput out;
  std::vector<Command> batch;
  for (size_t i = 0; i < n;) {
    batch.clear();
    for (size_t j = 0; j < 256 && i < n; ++j, ++i) batch.push_back(make(i));
    engine.ApplyBatch(batch, TimestampMs{1'700'000'000'000}, Lsn{++*lsn}, &out);
    if (out.replies.front().is_error() || out.record.empty()) {
      std::fprintf(stderr, "record_memory: the engine refused: %s\n",
                   out.replies.front().error_message.c_str());
      std::exit(1);
    }
    out.record.clear();
    out.record.shrink_to_fit();
  }
  out = {};
  return static_cast<double>(HeapBytes() - before) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  exactly::core::Engine engine;
  uint64_t lsn = 0;

  const double claim_no_ttl = BytesPerItem(engine, &lsn, n, [](size_t i) {
    exactly::core::cmd::Claim c;
    c.key = "perm:" + std::to_string(i);
    c.owner = "owner-1";
    return Command(std::move(c));
  });
  const double claim = BytesPerItem(engine, &lsn, n, [](size_t i) {
    exactly::core::cmd::Claim c;
    c.key = "claim:" + std::to_string(i);
    c.owner = "owner-1";
    c.time.kind = exactly::core::TimeSpec::Kind::kTtl;
    c.time.ttl_ms = 3'600'000;
    return Command(std::move(c));
  });
  const double account = BytesPerItem(engine, &lsn, n, [](size_t i) {
    exactly::core::cmd::Account c;
    c.key = "acct:" + std::to_string(i);
    if (i == 0) c.min.infinite = true;  // acct:0 funds the transfers below
    return Command(std::move(c));
  });
  const double transfer = BytesPerItem(engine, &lsn, n, [](size_t i) {
    exactly::core::cmd::Transfer c;
    c.id = "t:" + std::to_string(i);
    c.from = "acct:0";
    c.to = "acct:" + std::to_string(1 + i % 1000);
    c.amount = 1;
    return Command(std::move(c));
  });
  std::printf("records        %zu each (keys of 8-14 bytes)\n", n);
  std::printf("claim (no TTL) %.0f bytes\n", claim_no_ttl);
  std::printf("claim (TTL)    %.0f bytes\n", claim);
  std::printf("account        %.0f bytes\n", account);
  std::printf("transfer id    %.0f bytes (remembered id, plus history entries of two accounts)\n",
              transfer);
  return 0;
}
