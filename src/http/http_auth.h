// HttpAuth: who an HTTP request comes from and whether that user may run what it
// asks, with the users of net/acl.h (docs/acl.md, "HTTP").
//
//   Authorization: Basic base64(user:password)  AUTH user password's check
//   Authorization: Bearer <token>               a `token>` rule of the ACL file
//                                               (with --requirepass: the password)
//   no Authorization header                      the default user if it needs no
//                                               password, else 401
// A header that is present must be right, even when none is needed. GET
// /v1/openapi.json is answered to anyone (it is the same for every server of a
// version); GET /metrics needs a user that may run INFO; POST /v1/<command> the
// command (each element's, for /v1/multi) and its keys, as RESP checks them.
//
// Pure functions over an immutable Acl; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "core/command.h"
#include "http/routes.h"
#include "net/acl.h"

namespace exactly::http {

// A request's user, or why there is none (401, the RESP code and text).
struct HttpCaller {
  const net::User* user = nullptr;
  std::string_view code;  // NOAUTH or WRONGPASS when user is nullptr
  std::string message;
};

// The caller of a request whose Authorization header is `header` (empty: none).
HttpCaller Authenticate(const net::Acl& acl, std::string_view header);

// The WWW-Authenticate value of a 401: both schemes the server takes.
inline constexpr std::string_view kAuthChallenge =
    R"(Basic realm="exactly", Bearer realm="exactly")";

// "" if `user` may run `command`, parsed from `body` for `route` (nullptr: POST
// /v1/multi, whose elements name their routes), else the NOPERM text (403).
std::string PostRefusal(const net::User& user, const Route* route, const boost::json::object& body,
                        const core::Command& command);

// "" if `user` may read GET /metrics (it may run INFO), else the NOPERM text.
std::string MetricsRefusal(const net::User& user);

// The bytes of base64 (RFC 4648, padding optional) `text`; false if it is not.
bool DecodeBase64(std::string_view text, std::string* out);

}  // namespace exactly::http
