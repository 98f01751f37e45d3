// Routes from the command table: every data command has one (a subcommand one
// each), its JSON members map to the RESP arguments RESP clients send, and a
// body's errors are RESP's own, from the same parser.
#include "http/routes.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/limits.h"
#include "net/command_table.h"
#include "net/errors.h"

namespace exactly::http {
namespace {

// The RESP arguments of `json` for the route at `path`, or "error: <text>".
std::string Map(std::string_view path, std::string_view json) {
  const Route* route = FindRoute(path);
  if (route == nullptr) return "no route";
  std::vector<std::string> args;
  std::string error;
  if (!ArgsFromJson(*route, boost::json::parse(json).as_object(), &args, &error)) {
    return "error: " + error;
  }
  std::string joined;
  for (const std::string& arg : args) joined += (joined.empty() ? "" : " ") + arg;
  return joined;
}

// The error net::ParseRequest gives for the RESP form of `json` ("" if none).
std::string ParseError(std::string_view path, std::string_view json) {
  const Route* route = FindRoute(path);
  std::vector<std::string> args;
  std::string error;
  EXPECT_TRUE(ArgsFromJson(*route, boost::json::parse(json).as_object(), &args, &error));
  std::vector<std::string_view> views(args.begin(), args.end());
  const net::CommandSpec* spec = nullptr;
  return net::ParseRequest(views, &spec).error;
}

TEST(RoutesTest, EveryDataCommandHasARoute) {
  std::set<std::string> commands;
  for (const Route& route : AllRoutes()) commands.insert(std::string(route.spec->name));
  for (const net::CommandSpec& spec : net::AllCommands()) {
    const bool data = (spec.flags & net::kConnection) == 0;
    EXPECT_EQ(commands.count(std::string(spec.name)), data ? 1u : 0u) << spec.name;
  }
  EXPECT_NE(FindRoute("/v1/idem/begin"), nullptr);
  EXPECT_NE(FindRoute("/v1/idem/end"), nullptr);
  EXPECT_NE(FindRoute("/v1/idem/abort"), nullptr);
  EXPECT_EQ(FindRoute("/v1/idem"), nullptr);
  EXPECT_EQ(FindRoute("/v1/ping"), nullptr);
  EXPECT_NE(FindRoute("/V1/CLAIM"), nullptr);
}

TEST(RoutesTest, PositionalsOptionsAndFlags) {
  EXPECT_EQ(Map("/v1/claim", R"({"key":"phone:+86","owner":"u1","ttl_ms":30000})"),
            "CLAIM phone:+86 u1 TTL 30000");
  EXPECT_EQ(Map("/v1/claim", R"({"owner":"u1","key":"k","persist":true,"note":"hi"})"),
            "CLAIM k u1 PERSIST NOTE hi");
  EXPECT_EQ(Map("/v1/claim", R"({"key":"k","owner":"u1","persist":false})"), "CLAIM k u1");
  EXPECT_EQ(Map("/v1/claim", R"({"key":"k","owner":"u1","until_ms":5,"ttl_ms":null})"),
            "CLAIM k u1 UNTIL 5");
  EXPECT_EQ(Map("/v1/claim", R"({"key":"k","owner":"o","per":"day","at":"09:00","tz":"+08:00"})"),
            "CLAIM k o PER day AT 09:00 TZ +08:00");
  EXPECT_EQ(Map("/v1/unclaim", R"({"key":"k","owner":"o","iflock_name":"l","iflock_token":"7"})"),
            "UNCLAIM k o IFLOCK l 7");
  EXPECT_EQ(Map("/v1/account", R"({"key":"a","min":"-inf","max":100})"),
            "ACCOUNT a MIN -inf MAX 100");
  EXPECT_EQ(
      Map("/v1/transfer", R"({"id":"t1","from":"a","to":"b","amount":"9223372036854775807"})"),
      "TRANSFER t1 a b 9223372036854775807");
  EXPECT_EQ(Map("/v1/reserve", R"({"id":"t","from":"a","to":"b","amount":5,"timeout_ms":100})"),
            "RESERVE t a b 5 TIMEOUT 100");
  EXPECT_EQ(Map("/v1/lock", R"({"name":"n","owner":"o","lease_ms":100,"wait_ms":5,"id":"r"})"),
            "LOCK n o LEASE 100 WAIT 5 ID r");
  EXPECT_EQ(Map("/v1/renew", R"({"name":"n","token":"18446744073709551615","lease_ms":1})"),
            "RENEW n 18446744073709551615 LEASE 1");
  EXPECT_EQ(Map("/v1/claimlog", R"({"key":"k","count":3})"), "CLAIMLOG k COUNT 3");
}

TEST(RoutesTest, SubcommandsAndAlternatives) {
  EXPECT_EQ(Map("/v1/idem/begin", R"({"key":"k","fingerprint":"f","lease_ms":10})"),
            "IDEM BEGIN k FINGERPRINT f LEASE 10");
  EXPECT_EQ(Map("/v1/idem/end", R"({"key":"k","token":"3","response":"r"})"), "IDEM END k 3 r");
  EXPECT_EQ(Map("/v1/idem/abort", R"({"key":"k","token":3})"), "IDEM ABORT k 3");
  EXPECT_EQ(Map("/v1/limit", R"({"key":"k","rate":5,"per_ms":1000,"burst":2})"),
            "LIMIT k RATE 5 PER 1000 BURST 2");
  EXPECT_EQ(Map("/v1/limit", R"({"key":"k","window":5,"per_ms":1000,"cost":2})"),
            "LIMIT k WINDOW 5 PER 1000 COST 2");
  EXPECT_EQ(Map("/v1/limit", R"({"key":"k","window":5,"per_ms":1000,"burst":2})"),
            "error: " + net::ErrUnknownMember("burst", "limit"));
}

TEST(RoutesTest, MemberErrorsNameTheMember) {
  EXPECT_EQ(Map("/v1/claim", R"({"key":"k"})"), "error: " + net::ErrMissingMember("owner"));
  EXPECT_EQ(Map("/v1/claim", R"({"key":"k","owner":"o","colour":1})"),
            "error: " + net::ErrUnknownMember("colour", "claim"));
  EXPECT_EQ(Map("/v1/claim", R"({"key":1,"owner":"o"})"),
            "error: " + net::ErrJsonMemberType("key", "a string"));
  EXPECT_EQ(Map("/v1/claim", R"({"key":"k","owner":"o","persist":"yes"})"),
            "error: " + net::ErrJsonMemberType("persist", "true or false"));
  EXPECT_EQ(Map("/v1/claim", R"({"key":"k","owner":"o","ttl_ms":[1]})"),
            "error: " + net::ErrJsonMemberType("ttl_ms", "an integer or a string of digits"));
  EXPECT_EQ(Map("/v1/unclaim", R"({"key":"k","owner":"o","iflock_name":"l"})"),
            "error: " + net::ErrMissingMember("iflock_token"));
}

TEST(RoutesTest, ValueErrorsAreTheParsersOwn) {
  EXPECT_EQ(ParseError("/v1/transfer", R"({"id":"t","from":"a","to":"b","amount":1.5})"),
            net::ErrAmountNotInteger("1.5"));
  EXPECT_EQ(ParseError("/v1/transfer", R"({"id":"t","from":"a","to":"b","amount":-3})"),
            net::ErrAmountNotPositive("-3"));
  EXPECT_EQ(ParseError("/v1/claim", R"({"key":"k","owner":"o","ttl_ms":1,"per":"day"})"),
            net::ErrExclusiveOptions("TTL", "PER"));
  EXPECT_EQ(ParseError("/v1/claim", R"({"key":"k","owner":"o","at":"09:00"})"),
            net::ErrOptionNeeds("AT", "PER"));
  EXPECT_EQ(ParseError("/v1/claim", R"({"key":"","owner":"o"})"), net::ErrLength("key", 1, 512));
  EXPECT_EQ(ParseError("/v1/claim", R"({"key":"k","owner":"o","ttl_ms":30000})"), "");
}

TEST(RoutesTest, AGroupIsItsCommandsAllOrNone) {
  auto group = [](std::string_view json) {
    return GroupFromJson(boost::json::parse(json).as_object());
  };
  net::ParsedCommand parsed = group(
      R"({"commands":[{"command":"claim","key":"k","owner":"o"},)"
      R"({"command":"idem/begin","key":"i"},{"command":"limit","key":"l","rate":1,"per_ms":5}]})");
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.command.kind, core::CommandKind::kGroup);
  ASSERT_EQ(parsed.command.group.size(), 3u);
  EXPECT_EQ(parsed.command.group[0].kind, core::CommandKind::kClaim);
  EXPECT_EQ(parsed.command.group[1].kind, core::CommandKind::kIdemBegin);
  EXPECT_EQ(parsed.command.group[2].kind, core::CommandKind::kLimit);
  EXPECT_EQ(group(R"({"commands":[]})").error, "");
  EXPECT_EQ(group(R"({"commands":[{"command":"claim","key":"k","owner":"o"},{"command":"claim"}]})")
                .error,
            net::ErrGroupElement(1, net::ErrMissingMember("key")));
  EXPECT_EQ(group(R"({"commands":[{"command":"claim","key":"k","owner":"o","ttl_ms":0}]})").error,
            net::ErrGroupElement(0, net::ErrIntegerRange("TTL", 1, 3153600000000, "ms")));
  EXPECT_EQ(group(R"({"commands":[{"command":"ping"}]})").error,
            net::ErrGroupElement(0, net::ErrNoRoute("POST", "/v1/ping")));
  EXPECT_EQ(group(R"({"commands":[{"key":"k"}]})").error,
            net::ErrGroupElement(0, net::ErrMissingMember("command")));
  EXPECT_EQ(group(R"({"commands":[7]})").error,
            net::ErrGroupElement(0, net::ErrJsonBody("not an object")));
  EXPECT_EQ(group(R"({"commands":{}})").error,
            net::ErrJsonMemberType("commands", "an array of commands"));
  EXPECT_EQ(group(R"({"commands":[],"x":1})").error, net::ErrUnknownMember("x", "multi"));
  std::string many = R"({"commands":[)";
  for (size_t i = 0; i <= core::kGroupCommandsMax; ++i) {
    many += std::string(i ? "," : "") + R"({"command":"claimof","key":"k"})";
  }
  EXPECT_EQ(group(many + "]}").error, net::ErrGroupCommands());
}

}  // namespace
}  // namespace exactly::http
