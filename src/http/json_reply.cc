// Replies and problems as JSON (see json_reply.h).
#include "http/json_reply.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <variant>

#include "net/errors.h"

namespace exactly::http {
namespace {

constexpr std::string_view kStringIntegers[] = {"amount", "balance", "reserved",
                                                "min",    "max",     "token"};

boost::json::object ReplyObject(const core::Reply& reply);

boost::json::value FieldValue(std::string_view name, const core::Value& value) {
  if (const auto* integer = std::get_if<int64_t>(&value)) {
    if (!IsStringInteger(name)) return boost::json::value(*integer);
    // Tokens are unsigned 64-bit; the engine keeps them in an int64 field.
    return boost::json::value(name == "token" ? std::to_string(static_cast<uint64_t>(*integer))
                                              : std::to_string(*integer));
  }
  if (const auto* text = std::get_if<std::string>(&value)) return boost::json::value(*text);
  boost::json::array list;
  for (const core::Reply& item : std::get<std::vector<core::Reply>>(value)) {
    list.push_back(ReplyObject(item));
  }
  return list;
}

boost::json::object ReplyObject(const core::Reply& reply) {
  boost::json::object object;
  object.reserve(reply.fields.size() + 1);
  if (reply.outcome) object["result"] = core::OutcomeName(*reply.outcome);
  for (const auto& [name, value] : reply.fields) object[name] = FieldValue(name, value);
  return object;
}

}  // namespace

std::span<const std::string_view> StringIntegerFields() { return kStringIntegers; }

bool IsStringInteger(std::string_view field) {
  return std::find(std::begin(kStringIntegers), std::end(kStringIntegers), field) !=
         std::end(kStringIntegers);
}

std::string ReplyJson(const core::Reply& reply) {
  if (reply.wire_list_only) {
    // A group's reply: on RESP only its list; here an object with the list.
    boost::json::object object;
    if (reply.outcome) object["result"] = core::OutcomeName(*reply.outcome);
    object["results"] = FieldValue("results", reply.fields[0].second);
    return boost::json::serialize(object);
  }
  return boost::json::serialize(ReplyObject(reply));
}

int ErrorStatus(std::string_view code, std::string_view message, bool from_engine) {
  if (code == net::kCodeNoAuth || code == net::kCodeWrongPass) return 401;
  if (code == net::kCodeIoErr || code == net::kCodeOom) return 503;
  if (code == net::kCodeDenied || code == net::kCodeNoPerm) return 403;
  if (message == net::ErrShuttingDown()) return 503;
  return from_engine ? 422 : 400;
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 422:
      return "Unprocessable Content";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string ProblemJson(int status, std::string_view code, std::string_view detail) {
  boost::json::object problem;
  problem["type"] = "about:blank";
  problem["title"] = StatusReason(status);
  problem["status"] = status;
  problem["detail"] = detail;
  problem["code"] = code.empty() ? net::kCodeErr : code;
  return boost::json::serialize(problem);
}

}  // namespace exactly::http
