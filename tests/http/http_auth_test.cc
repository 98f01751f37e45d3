// The HTTP API's Authorization header: Basic and Bearer mapped to the ACL's users,
// and the permission checks of a POST.
#include "http/http_auth.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "net/errors.h"

namespace exactly::http {
namespace {

net::Acl Users() {
  return net::Acl::Parse(
             "user app on >pw token>tok +@claims ~phone:*\n"
             "user off_user off >pw allcommands allkeys\n")
      .value();
}

TEST(HttpAuthTest, DecodeBase64) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("YXBwOnB3", &out));
  EXPECT_EQ(out, "app:pw");
  EXPECT_TRUE(DecodeBase64("YTpi", &out));
  EXPECT_EQ(out, "a:b");
  EXPECT_TRUE(DecodeBase64("YTo=", &out));  // padded
  EXPECT_EQ(out, "a:");
  EXPECT_TRUE(DecodeBase64("YTo", &out));  // unpadded
  EXPECT_EQ(out, "a:");
  EXPECT_FALSE(DecodeBase64("Y", &out));
  EXPECT_FALSE(DecodeBase64("YT!=", &out));
}

TEST(HttpAuthTest, BasicAndBearerFindTheUser) {
  const net::Acl acl = Users();
  const net::User* app = acl.Find("app");
  EXPECT_EQ(Authenticate(acl, "Basic YXBwOnB3").user, app);  // app:pw
  EXPECT_EQ(Authenticate(acl, "basic  YXBwOnB3 ").user, app);
  EXPECT_EQ(Authenticate(acl, "Bearer tok").user, app);
  for (std::string_view wrong : {"Basic YXBwOnB4", "Basic !!", "Basic YXBwcHc=", "Bearer pw",
                                 "Bearer tok2", "Basic b2ZmX3VzZXI6cHc="}) {
    const HttpCaller caller = Authenticate(acl, wrong);
    EXPECT_EQ(caller.user, nullptr) << wrong;
    EXPECT_EQ(caller.code, net::kCodeWrongPass) << wrong;
  }
  // Nothing, or a scheme the server does not take: authentication is required.
  EXPECT_EQ(Authenticate(acl, "").code, net::kCodeNoAuth);
  EXPECT_EQ(Authenticate(acl, "Digest x").code, net::kCodeNoAuth);
}

TEST(HttpAuthTest, NoHeaderIsTheOpenDefaultUser) {
  const net::Acl open = net::Acl::FromPassword("");
  EXPECT_EQ(Authenticate(open, "").user, open.OpenUser());
  // A header that is sent must be right even when none is needed.
  EXPECT_EQ(Authenticate(open, "Bearer nope").user, nullptr);
  const net::Acl closed = net::Acl::FromPassword("s3cret");
  EXPECT_EQ(Authenticate(closed, "").user, nullptr);
  EXPECT_NE(Authenticate(closed, "Bearer s3cret").user, nullptr);
}

TEST(HttpAuthTest, PostRefusalChecksCommandsAndKeys) {
  const net::Acl acl = Users();
  const net::User& app = *acl.Find("app");
  const Route* claim = FindRoute("/v1/claim");
  const Route* balance = FindRoute("/v1/balance");
  ASSERT_NE(claim, nullptr);
  ASSERT_NE(balance, nullptr);
  const auto ok_body = boost::json::parse(R"({"key":"phone:1","owner":"u"})").as_object();
  EXPECT_EQ(PostRefusal(app, claim, ok_body, CommandFromJson(*claim, ok_body).command), "");
  const auto bad_key = boost::json::parse(R"({"key":"email:1","owner":"u"})").as_object();
  EXPECT_EQ(PostRefusal(app, claim, bad_key, CommandFromJson(*claim, bad_key).command),
            "User app has no permissions to access the 'email:1' key");
  const auto balance_body = boost::json::parse(R"({"key":"phone:1"})").as_object();
  EXPECT_EQ(
      PostRefusal(app, balance, balance_body, CommandFromJson(*balance, balance_body).command),
      "User app has no permissions to run the 'balance' command");
  const auto group =
      boost::json::parse(R"({"commands":[{"command":"claim","key":"phone:1","owner":"u"},)"
                         R"({"command":"balance","key":"phone:1"}]})")
          .as_object();
  EXPECT_EQ(PostRefusal(app, nullptr, group, GroupFromJson(group).command),
            "User app has no permissions to run the 'balance' command");
  EXPECT_EQ(MetricsRefusal(app), "User app has no permissions to run the 'info' command");
}

}  // namespace
}  // namespace exactly::http
