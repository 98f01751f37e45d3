// Limits of the HTTP port, checked by http/http_connection.cc before a request
// reaches a command's parser; listed in docs/limits.md.
#pragma once

#include <cstddef>

namespace exactly::http {

// A request's start line and headers together; past it: 431, then closed.
inline constexpr size_t kHeaderBytesMax = 16 * 1024;
// A request body. Far above any command's JSON (the longest field is an IDEM END
// response of 64 KiB, which JSON escapes may grow by six times); past it: 413,
// then closed, before the body is read.
inline constexpr size_t kBodyBytesMax = 1024 * 1024;
// Requests of one connection awaiting their responses (HTTP/1.1 pipelining);
// reading pauses at this depth and resumes as responses leave.
inline constexpr size_t kRequestsInFlightMax = 1024;
// Responses released but not yet taken by the socket: past it reading pauses.
inline constexpr size_t kOutputPauseBytes = 1024 * 1024;
// An Idempotency-Key header's value.
inline constexpr size_t kIdempotencyKeyBytesMax = 255;

}  // namespace exactly::http
