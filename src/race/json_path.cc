// JSON parsing and dotted paths for `exactly race`.
#include "race/json_path.h"

#include <boost/json/parse.hpp>
#include <charconv>
#include <cmath>

#include "fmt/format.h"

namespace exactly::race {
namespace {

namespace json = boost::json;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string KindOf(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::string:
      return fmt::format("the string \"{}\"", std::string_view(v.get_string()).substr(0, 40));
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    default:
      return "a number";
  }
}

}  // namespace

base::Result<boost::json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.allow_invalid_utf8 = true;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return base::Status::InvalidArgument(fmt::format("not JSON: {}", ec.message()));
  return v;
}

base::Status CheckJsonPath(std::string_view path) {
  if (path.empty() || path.front() == '.' || path.back() == '.' ||
      path.find("..") != std::string_view::npos) {
    return base::Status::InvalidArgument(
        fmt::format("JSON path '{}': expected names separated by dots, e.g. data.balance", path));
  }
  return base::Status::Ok();
}

base::Result<int64_t> IntegerAt(const boost::json::value& root, std::string_view path) {
  const json::value* at = &root;
  std::string_view rest = path;
  std::string walked;
  while (!rest.empty()) {
    const size_t dot = rest.find('.');
    const std::string_view segment = rest.substr(0, dot);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    const json::value* next = nullptr;
    if (at->is_object()) {
      next = at->get_object().if_contains(segment);
    } else if (at->is_array()) {
      size_t index = 0;
      const auto [p, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (ec == std::errc() && p == segment.data() + segment.size() &&
          index < at->get_array().size()) {
        next = &at->get_array()[index];
      }
    }
    walked += walked.empty() ? "" : ".";
    walked += segment;
    if (next == nullptr) {
      return base::Status::NotFound(
          fmt::format("no '{}' in the JSON body (found {} before it)", walked, KindOf(*at)));
    }
    at = next;
  }
  if (at->is_int64()) return at->get_int64();
  if (at->is_uint64() && at->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(at->get_uint64());
  }
  if (at->is_double()) {
    const double d = at->get_double();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e18) {
      return static_cast<int64_t>(d);
    }
  }
  if (at->is_string()) {
    base::Result<int64_t> v = ParseInteger(std::string_view(at->get_string()));
    if (v.ok()) return v;
  }
  return base::Status::InvalidArgument(
      fmt::format("'{}' is {}, not an integer", path, KindOf(*at)));
}

base::Result<int64_t> ParseInteger(std::string_view text) {
  std::string_view s = Trim(text);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return base::Status::InvalidArgument(
        fmt::format("'{}' is not an integer", Trim(text).substr(0, 40)));
  }
  return v;
}

}  // namespace exactly::race
