// Replies as JSON: `result` first, the fields in the engine's order, 64-bit
// amounts and tokens as strings; problems in RFC 9457's shape.
#include "http/json_reply.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <vector>

#include "net/errors.h"

namespace exactly::http {
namespace {

TEST(JsonReplyTest, ResultFirstThenTheFieldsInOrder) {
  core::Reply reply = core::Reply::WithOutcome(core::Outcome::kWon);
  reply.Add("key", std::string("phone:+86")).Add("owner", std::string("u1")).Add("since", 5);
  reply.Add("expires", -1);
  EXPECT_EQ(ReplyJson(reply),
            R"({"result":"won","key":"phone:+86","owner":"u1","since":5,"expires":-1})");
}

TEST(JsonReplyTest, WideIntegersAreStrings) {
  core::Reply reply = core::Reply::WithOutcome(core::Outcome::kOk);
  reply.Add("balance", INT64_MAX).Add("min", INT64_MIN).Add("max", std::string("+inf"));
  reply.Add("timestamp", 7);
  EXPECT_EQ(ReplyJson(reply),
            R"({"result":"ok","balance":"9223372036854775807","min":"-9223372036854775808",)"
            R"("max":"+inf","timestamp":7})");
  // Tokens are unsigned 64-bit, kept by the engine in an int64.
  core::Reply lock = core::Reply::WithOutcome(core::Outcome::kAcquired);
  lock.Add("token", static_cast<int64_t>(UINT64_MAX));
  EXPECT_EQ(ReplyJson(lock), R"({"result":"acquired","token":"18446744073709551615"})");
  EXPECT_TRUE(IsStringInteger("amount"));
  EXPECT_FALSE(IsStringInteger("expires"));
}

TEST(JsonReplyTest, ListsAreArraysOfObjects) {
  core::Reply entry;
  entry.Add("owner", std::string("a")).Add("since", 1);
  core::Reply reply = core::Reply::WithOutcome(core::Outcome::kOk);
  reply.Add("entries", std::vector<core::Reply>{entry, entry});
  EXPECT_EQ(ReplyJson(reply),
            R"({"result":"ok","entries":[{"owner":"a","since":1},{"owner":"a","since":1}]})");
}

TEST(JsonReplyTest, StringsAreEscaped) {
  core::Reply reply = core::Reply::WithOutcome(core::Outcome::kWon);
  reply.Add("key", std::string("a\"b\\\n"));
  const boost::json::value parsed = boost::json::parse(ReplyJson(reply));
  EXPECT_EQ(parsed.at("key").as_string(), "a\"b\\\n");
}

TEST(JsonReplyTest, ProblemsCarryTheRespText) {
  const boost::json::value problem =
      boost::json::parse(ProblemJson(400, net::kCodeErr, net::ErrSyntax()));
  EXPECT_EQ(problem.at("type").as_string(), "about:blank");
  EXPECT_EQ(problem.at("title").as_string(), "Bad Request");
  EXPECT_EQ(problem.at("status").as_int64(), 400);
  EXPECT_EQ(problem.at("detail").as_string(), net::ErrSyntax());
  EXPECT_EQ(problem.at("code").as_string(), "ERR");
}

TEST(JsonReplyTest, StatusesByCode) {
  EXPECT_EQ(ErrorStatus(net::kCodeErr, net::ErrSyntax(), false), 400);
  EXPECT_EQ(ErrorStatus(net::kCodeErr, "claims table full (max 1)", true), 422);
  EXPECT_EQ(ErrorStatus(net::kCodeNoAuth, net::ErrNoAuth(), false), 401);
  EXPECT_EQ(ErrorStatus(net::kCodeIoErr, "x", true), 503);
  EXPECT_EQ(ErrorStatus(net::kCodeOom, "x", false), 503);
  EXPECT_EQ(ErrorStatus(net::kCodeErr, net::ErrShuttingDown(), false), 503);
}

}  // namespace
}  // namespace exactly::http
