// JSON replies: a core::Reply as the HTTP API's JSON object, and errors as
// `application/problem+json` (RFC 9457).
//
// A reply is an object whose first member is `result` (the outcome's word), then
// its fields in the engine's order, as RESP renders them. Integers that can pass
// 2^53, where a JSON number loses digits in most clients (amounts, balances,
// bounds, fencing and IDEM tokens), are JSON strings of decimal digits; every
// other integer (times in ms, depths, counts) is a JSON number. Lists (CLAIMLOG,
// HISTORY) are arrays of objects. Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/reply.h"

namespace exactly::http {

// The reply fields whose integers are sent as JSON strings.
std::span<const std::string_view> StringIntegerFields();
bool IsStringInteger(std::string_view field);

// `reply` (not an error reply) as JSON text.
std::string ReplyJson(const core::Reply& reply);

// The HTTP status of an error reply with RESP code `code` (net/errors.h): 400 for
// a malformed request, 401 without authentication, 403 for NOPERM and DENIED, 503 when the server
// cannot take writes (IOERR, OOM, shutting down). `from_engine` marks an error the engine answered
// for a well-formed request (a full table, ACCOUNT with other bounds): 422.
int ErrorStatus(std::string_view code, std::string_view message, bool from_engine);

// The problem+json body: type about:blank, title (the status's reason phrase),
// status, detail (the RESP error text after its code) and code (RESP's ERR,
// NOAUTH, ...), so a client can match either protocol's errors the same way.
std::string ProblemJson(int status, std::string_view code, std::string_view detail);

// The reason phrase of an HTTP status ("Bad Request").
std::string_view StatusReason(int status);

}  // namespace exactly::http
