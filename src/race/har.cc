// Reading HAR 1.2 files for `exactly race audit`.
#include "race/har.h"

#include <boost/json.hpp>

#include "fmt/format.h"
#include "race/json_path.h"

namespace exactly::race {
namespace {

namespace json = boost::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Dropped(const std::string& lower_name) {
  static constexpr std::string_view kDropped[] = {
      "host",       "content-length",    "connection",
      "keep-alive", "transfer-encoding", "upgrade",
      "te",         "trailer",           "proxy-connection",
      "expect",     "http2-settings",    "accept-encoding"};
  if (!lower_name.empty() && lower_name.front() == ':') return true;
  for (std::string_view d : kDropped) {
    if (lower_name == d) return true;
  }
  return false;
}

std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// application/x-www-form-urlencoded encoding of one name or value.
std::string FormEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Pairs(const json::object& o,
                                                       std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const json::value& item : v->get_array()) {
    if (!item.is_object()) continue;
    out.emplace_back(StringAt(item.get_object(), "name"), StringAt(item.get_object(), "value"));
  }
  return out;
}

}  // namespace

bool IsStateChanging(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

base::Result<std::vector<HarRequest>> ParseHar(std::string_view text, size_t* skipped) {
  base::Result<json::value> doc = ParseJson(text);
  if (!doc.ok()) return base::Status::InvalidArgument("HAR: " + doc.status().message());
  const json::value* entries = nullptr;
  if (doc->is_object()) {
    const json::value* log = doc->get_object().if_contains("log");
    if (log != nullptr && log->is_object()) entries = log->get_object().if_contains("entries");
  }
  if (entries == nullptr || !entries->is_array()) {
    return base::Status::InvalidArgument("HAR: no log.entries array (is this a HAR file?)");
  }
  std::vector<HarRequest> out;
  size_t dropped = 0;
  const json::array& list = entries->get_array();
  for (size_t k = 0; k < list.size(); ++k) {
    const json::value* req =
        list[k].is_object() ? list[k].get_object().if_contains("request") : nullptr;
    if (req == nullptr || !req->is_object()) {
      ++dropped;
      continue;
    }
    const json::object& r = req->get_object();
    HarRequest h;
    h.entry = k;
    h.method = StringAt(r, "method");
    for (char& c : h.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    h.url = StringAt(r, "url");
    if (h.method.empty() || h.url.empty()) {
      ++dropped;
      continue;
    }
    bool has_cookie = false;
    bool has_type = false;
    for (auto& [name, value] : Pairs(r, "headers")) {
      const std::string lower = Lower(name);
      if (Dropped(lower)) continue;
      has_cookie = has_cookie || lower == "cookie";
      has_type = has_type || lower == "content-type";
      h.headers.emplace_back(std::move(name), std::move(value));
    }
    if (!has_cookie) {
      std::string cookie;
      for (const auto& [name, value] : Pairs(r, "cookies")) {
        if (name.empty()) continue;
        cookie += fmt::format("{}{}={}", cookie.empty() ? "" : "; ", name, value);
      }
      if (!cookie.empty()) h.headers.emplace_back("Cookie", cookie);
    }
    const json::value* post = r.if_contains("postData");
    if (post != nullptr && post->is_object()) {
      const json::object& p = post->get_object();
      h.body = StringAt(p, "text");
      if (h.body.empty()) {
        for (const auto& [name, value] : Pairs(p, "params")) {
          h.body += fmt::format("{}{}={}", h.body.empty() ? "" : "&", FormEncode(name),
                                FormEncode(value));
        }
      }
      const std::string mime = StringAt(p, "mimeType");
      if (!has_type && !mime.empty()) h.headers.emplace_back("Content-Type", mime);
    }
    out.push_back(std::move(h));
  }
  if (skipped != nullptr) *skipped = dropped;
  return out;
}

}  // namespace exactly::race
