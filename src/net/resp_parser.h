// RESP request parser: turns the bytes at the start of a buffer into one command's
// arguments, without copying them.
//
// Stateless: the caller keeps unconsumed bytes and calls again when more arrive.
// Understands multibulk frames (*N\r\n$len\r\narg\r\n...) as every client library
// sends them, and inline commands (one line, space separated, "quoted" or 'quoted'
// words taken verbatim) as a person types them into telnet. Nothing is allocated
// from a declared length: a "$1000000" header is answered kNeedMore until the bytes
// are there, and a declared length or count above the limits is kError at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "net/limits.h"

namespace exactly::net {

struct ParserLimits {
  size_t bulk_bytes_max = kBulkBytesMax;
  size_t args_max = kArgsMax;
  size_t inline_bytes_max = kInlineBytesMax;
};

enum class ParseStatus {
  kCommand,   // one frame parsed: `consumed` bytes, `args` filled (possibly empty)
  kNeedMore,  // the frame is incomplete: keep the bytes and call again with more
  kError,     // the bytes are not RESP: reply "-ERR <error>" and close the connection
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;  // bytes of `buffer` the frame used (kCommand only)
  std::string error;    // kError only, without the "ERR " prefix
};

// Parses one command from the start of `buffer` into `args` (cleared first). The
// views point into `buffer` and stay valid while it is unchanged. A kCommand with
// empty `args` is a frame that carries no command ("*0\r\n", "*-1\r\n", an empty
// inline line): drop its bytes and go on. `args` is unspecified unless kCommand.
// Reuses `args`' capacity, so a steady stream of commands allocates nothing.
ParseResult ParseCommand(std::string_view buffer, const ParserLimits& limits,
                         std::vector<std::string_view>* args);

}  // namespace exactly::net
