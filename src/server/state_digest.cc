// The state's fingerprint without its clock; see state_digest.h.
#include "server/state_digest.h"

#include <string>

#include "storage/journal_format.h"

namespace exactly::server {
namespace {

// Length of the varint at the start of `bytes` (core/byte_codec.h); 0 if it does not
// end within them.
size_t VarintLength(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size() && i < 10; ++i) {
    if ((static_cast<uint8_t>(bytes[i]) & 0x80) == 0) return i + 1;
  }
  return 0;
}

}  // namespace

uint64_t StateDigest(std::string_view saved_state) {
  // Header (core/state_codec.h): u8 version | varint applied_lsn | varint clock.
  if (saved_state.empty()) return 0;
  const size_t lsn_bytes = VarintLength(saved_state.substr(1));
  if (lsn_bytes == 0) return 0;
  const size_t clock_at = 1 + lsn_bytes;
  const size_t clock_bytes = VarintLength(saved_state.substr(clock_at));
  if (clock_bytes == 0) return 0;
  std::string hashed(saved_state.substr(0, clock_at));
  hashed.append(saved_state.substr(clock_at + clock_bytes));
  return storage::PayloadChecksum(hashed);
}

}  // namespace exactly::server
