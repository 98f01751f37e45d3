// Limits of the wire: how big one RESP command may be. Checked by resp_parser.cc
// before any byte of an oversized frame is buffered for it; listed in docs/limits.md.
#pragma once

#include <cstddef>

#include "core/limits.h"

namespace exactly::net {

// One bulk argument. Far above any field the engine accepts (the longest is a
// NOTE of core::kNoteBytesMax), so a real client never meets it, while a bogus
// "$999999999" header is refused at once.
inline constexpr size_t kBulkBytesMax = 1024 * 1024;
// Arguments of one command (the name included).
inline constexpr size_t kArgsMax = 1024;
// One inline (telnet-style) command line, without its line ending.
inline constexpr size_t kInlineBytesMax = 64 * 1024;
// A "*N" or "$N" header line: sign, 19 digits and slack. A longer header without a
// line ending is garbage, not a slow client.
inline constexpr size_t kMultibulkHeaderMax = 32;

static_assert(core::kNoteBytesMax < kBulkBytesMax);
static_assert(core::kKeyBytesMax < kBulkBytesMax);
static_assert(kMultibulkHeaderMax < kInlineBytesMax);
// Any inline word must also fit a bulk argument (the same command either way).
static_assert(kInlineBytesMax <= kBulkBytesMax);

}  // namespace exactly::net
