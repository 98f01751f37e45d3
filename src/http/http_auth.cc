// The HTTP API's authentication and permission checks (see http_auth.h).
#include "http/http_auth.h"

#include <boost/beast/core/string.hpp>

#include "net/errors.h"

namespace exactly::http {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

HttpCaller Refused(std::string_view code, std::string message) {
  return HttpCaller{nullptr, code, std::move(message)};
}

// The scheme's credentials if `header` starts with `scheme` and a space (any case).
bool TakeScheme(std::string_view header, std::string_view scheme, std::string_view* credentials) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ' ||
      !boost::beast::iequals(header.substr(0, scheme.size()), scheme)) {
    return false;
  }
  std::string_view rest = header.substr(scheme.size() + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  *credentials = rest;
  return true;
}

}  // namespace

bool DecodeBase64(std::string_view text, std::string* out) {
  out->clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const int value = Base64Value(c);
    if (value < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out->push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return true;
}

HttpCaller Authenticate(const net::Acl& acl, std::string_view header) {
  if (header.empty()) {
    if (const net::User* open = acl.OpenUser()) return HttpCaller{open, {}, {}};
    return Refused(net::kCodeNoAuth, net::ErrNoAuth());
  }
  std::string_view credentials;
  if (TakeScheme(header, "Basic", &credentials)) {
    std::string decoded;
    const size_t colon =
        DecodeBase64(credentials, &decoded) ? decoded.find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return Refused(net::kCodeWrongPass, net::ErrWrongPass());
    }
    const std::string_view pair(decoded);
    if (const net::User* user = acl.Authenticate(pair.substr(0, colon), pair.substr(colon + 1))) {
      return HttpCaller{user, {}, {}};
    }
    return Refused(net::kCodeWrongPass, net::ErrWrongPass());
  }
  if (TakeScheme(header, "Bearer", &credentials)) {
    if (const net::User* user = acl.AuthenticateToken(credentials)) return HttpCaller{user, {}, {}};
    return Refused(net::kCodeWrongPass, net::ErrWrongPass());
  }
  return Refused(net::kCodeNoAuth, net::ErrNoAuth());
}

std::string PostRefusal(const net::User& user, const Route* route, const boost::json::object& body,
                        const core::Command& command) {
  if (user.unrestricted) return "";
  if (route != nullptr) {
    if (std::string refusal = net::CommandRefusal(user, *route->spec); !refusal.empty()) {
      return refusal;
    }
  } else {
    // GroupFromJson accepted the body: `commands` is an array of objects, each
    // naming a route.
    for (const boost::json::value& element : body.at("commands").as_array()) {
      const boost::json::string& name = element.as_object().at("command").as_string();
      const Route* named = FindRoute("/v1/" + std::string(name));
      if (named == nullptr) continue;
      if (std::string refusal = net::CommandRefusal(user, *named->spec); !refusal.empty()) {
        return refusal;
      }
    }
  }
  return net::KeyRefusal(user, command);
}

std::string MetricsRefusal(const net::User& user) {
  if (user.unrestricted) return "";
  const net::CommandSpec* info = net::FindCommand("INFO");
  return info == nullptr ? "" : net::CommandRefusal(user, *info);
}

}  // namespace exactly::http
