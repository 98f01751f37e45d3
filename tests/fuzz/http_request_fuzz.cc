// Fuzzes the HTTP request path up to the engine: bytes into Beast's request
// parser (fed in two pieces, as a socket might), a parsed POST's body into the
// JSON parser, its members into RESP arguments through the routes, and those
// through net::ParseRequest. Nothing may crash, and a body the routes accept
// must become arguments that start with the route's own words.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "http/limits.h"
#include "http/routes.h"
#include "net/command_table.h"

namespace exactly::http {
namespace {

namespace bhttp = boost::beast::http;

void Run(std::string_view target, std::string_view body) {
  const Route* route = FindRoute(target.substr(0, target.find('?')));
  if (route == nullptr) return;
  boost::system::error_code error;
  boost::json::value json = boost::json::parse(body, error);
  if (error || !json.is_object()) return;
  std::vector<std::string> args;
  std::string refusal;
  if (!ArgsFromJson(*route, json.as_object(), &args, &refusal)) {
    EXACTLY_ASSERT(!refusal.empty());
    return;
  }
  EXACTLY_ASSERT(args.size() >= route->prefix.size());
  for (size_t i = 0; i < route->prefix.size(); ++i) EXACTLY_ASSERT(args[i] == route->prefix[i]);
  const std::vector<std::string_view> views(args.begin(), args.end());
  const net::CommandSpec* spec = nullptr;
  net::ParsedCommand parsed = net::ParseRequest(views, &spec);
  EXACTLY_ASSERT(spec == route->spec);
}

}  // namespace
}  // namespace exactly::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bhttp = boost::beast::http;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(exactly::http::kHeaderBytesMax));
  parser.body_limit(exactly::http::kBodyBytesMax);
  parser.eager(true);
  std::string buffered;
  for (std::string_view piece : {input.substr(0, cut), input.substr(cut)}) {
    if (parser.is_done()) break;  // a message without a body ends at its header
    buffered += piece;
    // As the connection does, never an empty buffer (asio makes it a null pointer).
    if (buffered.empty()) continue;
    boost::system::error_code error;
    size_t used = parser.put(boost::asio::buffer(buffered), error);
    buffered.erase(0, used);
    if (error && error != bhttp::error::need_more) return 0;
  }
  if (!parser.is_done()) return 0;
  const auto& request = parser.get();
  if (request.method() != bhttp::verb::post) return 0;
  exactly::http::Run(request.target(), request.body());
  return 0;
}
