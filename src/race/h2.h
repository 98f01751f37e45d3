// HTTP/2 single-packet release for h2c targets (`exactly race --h2`): one
// prior-knowledge h2c connection carries every request as its own stream; each
// stream's HEADERS and all of its DATA but the final frame go first, then all the
// final END_STREAM frames leave in one write(), so they arrive in one TCP segment
// (for up to ~1,400 bytes of final frames; then a few) and the server sees every
// request completed at the same moment. HPACK comes from libnghttp2; framing is here.
#pragma once

#include <vector>

#include "base/status.h"
#include "race/fire.h"
#include "race/wire.h"

namespace exactly::race {

// Sends `requests` as streams 1, 3, 5, ... on one connection to `target` (an
// http:// target speaking h2c with prior knowledge). Results are in request order;
// the release spread is the duration of the one write that carries the final frames.
base::Result<RoundRun> FireH2(const Target& target, const std::vector<HttpRequest>& requests,
                              const FireOptions& options);

// Frame helpers, exposed for tests: a 9-byte frame header followed by the payload.
std::string H2Frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload);

}  // namespace exactly::race
