// Per-connection limits, checked by net/connection.cc; listed in docs/limits.md.
#pragma once

#include <cstddef>

namespace exactly::net {

// Unparsed input a client may send ahead of its replies. The parser's own limits
// (bulk length, argument count) bound a single command; this bounds the pile.
inline constexpr size_t kInputBytesMax = 64 * 1024 * 1024;
// Replies held for a client (waiting for durability or for the socket). A client
// that does not read its replies is disconnected past this.
inline constexpr size_t kOutputBytesMax = 64 * 1024 * 1024;
// Commands of one client awaiting their replies; reading pauses at this depth
// and resumes as replies leave (backpressure, not an error).
inline constexpr size_t kPipelineDepthMax = 16 * 1024;
// Replies released but not yet taken by the socket: past this a connection stops
// reading its client until the client reads (so a client that pipelines and never
// reads costs at most this much, not its whole pipeline's replies).
inline constexpr size_t kOutputPauseBytes = 1024 * 1024;
// Buffers of all clients together (--maxmemory-clients): past it the clients with
// the largest buffers are disconnected, as Redis' maxmemory-clients does.
inline constexpr size_t kClientBuffersBytesMaxDefault = 1024ull * 1024 * 1024;
// Connected clients; one more is told so and closed.
inline constexpr size_t kClientsMaxDefault = 10000;

}  // namespace exactly::net
