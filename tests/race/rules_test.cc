// Tests for race/rules and race/judge: success rules, expectations, unknown outcomes,
// per-user judging.
#include "race/rules.h"

#include <gtest/gtest.h>

#include "race/judge.h"

namespace exactly::race {
namespace {

std::vector<SuccessRule> Rules(std::initializer_list<const char*> texts) {
  std::vector<SuccessRule> rules;
  for (const char* t : texts) {
    base::Result<SuccessRule> r = ParseSuccessRule(t);
    EXPECT_TRUE(r.ok()) << t;
    if (r.ok()) rules.push_back(r.value());
  }
  return rules;
}

Expectation Expect(const char* text) {
  base::Result<Expectation> e = ParseExpectation(text);
  EXPECT_TRUE(e.ok()) << text;
  return e.ok() ? e.value() : Expectation{};
}

TEST(RulesTest, DefaultSuccessIs2xx) {
  EXPECT_TRUE(IsSuccess({}, 200, ""));
  EXPECT_TRUE(IsSuccess({}, 204, ""));
  EXPECT_FALSE(IsSuccess({}, 409, ""));
  EXPECT_FALSE(IsSuccess({}, 0, ""));
}

TEST(RulesTest, StatusAndBodyRulesMustAllMatch) {
  const std::vector<SuccessRule> rules = Rules({"status=200", "body~\"signed\":\\s*true"});
  EXPECT_TRUE(IsSuccess(rules, 200, "{\"signed\": true}"));
  EXPECT_FALSE(IsSuccess(rules, 200, "{\"signed\": false}"));
  EXPECT_FALSE(IsSuccess(rules, 201, "{\"signed\": true}"));
  EXPECT_TRUE(IsSuccess(Rules({"status=4xx"}), 409, ""));
  EXPECT_FALSE(IsSuccess(Rules({"status!=500"}), 500, ""));
  EXPECT_TRUE(IsSuccess(Rules({"body!~error"}), 200, "fine"));
  EXPECT_TRUE(IsSuccess(Rules({"body~^result ok"}), 200, "result ok id t1"));
}

TEST(RulesTest, BadRulesAreRejected) {
  EXPECT_FALSE(ParseSuccessRule("status=20").ok());
  EXPECT_FALSE(ParseSuccessRule("status>200").ok());
  EXPECT_FALSE(ParseSuccessRule("body~(").ok());
  EXPECT_FALSE(ParseSuccessRule("header~x").ok());
}

TEST(RulesTest, ExpectationsParse) {
  Expectation e = Expect("success<=6");
  EXPECT_EQ(e.left.coefficient[static_cast<int>(Name::kSuccess)], 1);
  EXPECT_EQ(e.right.constant, 6);
  EXPECT_EQ(e.op, Expectation::Op::kLe);
  EXPECT_EQ(Expect("failure>=1").op, Expectation::Op::kGe);
  EXPECT_TRUE(Expect("error==0").Uses(Name::kError));
  EXPECT_EQ(Expect("total!=3").op, Expectation::Op::kNe);
  EXPECT_EQ(Expect("success<2").op, Expectation::Op::kLt);
  EXPECT_FALSE(ParseExpectation("wins==1").ok());
  EXPECT_FALSE(ParseExpectation("success~1").ok());
  EXPECT_FALSE(ParseExpectation("success==").ok());
  EXPECT_FALSE(ParseExpectation("success==1x").ok());
  EXPECT_TRUE(ParseExpectation("success==-1").ok());
}

TEST(RulesTest, EvaluateHeldViolatedUnknown) {
  const Expectation once = Expect("success==1");
  EXPECT_EQ(Evaluate(once, {1, 9, 0}), Verdict::kHeld);
  EXPECT_EQ(Evaluate(once, {4, 6, 0}), Verdict::kViolated);
  // Two successes already break it whatever the unknown request did.
  EXPECT_EQ(Evaluate(once, {2, 7, 1}), Verdict::kViolated);
  // One success and one request without an answer: it may have been a second one.
  EXPECT_EQ(Evaluate(once, {1, 8, 1}), Verdict::kUnknown);
  EXPECT_EQ(Evaluate(Expect("success>=1"), {1, 0, 3}), Verdict::kHeld);
}

RequestResult Response(const char* user, int status, const char* body = "") {
  RequestResult r;
  r.user = user;
  r.status = status;
  r.body = body;
  return r;
}

TEST(JudgeTest, CountsAndOverallVerdict) {
  std::vector<RequestResult> requests = {Response("a", 200), Response("a", 409),
                                         Response("b", 200)};
  RequestResult lost;
  lost.user = "b";
  lost.error = "timeout";
  requests.push_back(lost);
  const RoundVerdict v = Judge(requests, {}, {Expect("success==1")}, false);
  EXPECT_EQ(v.counts.success, 2);
  EXPECT_EQ(v.counts.failure, 1);
  EXPECT_EQ(v.counts.error, 1);
  EXPECT_EQ(v.verdict, Verdict::kViolated);
  EXPECT_TRUE(requests[0].success);
  EXPECT_FALSE(requests[1].success);
  EXPECT_FALSE(requests[3].success);
}

TEST(JudgeTest, PerUserFindsTheUserThatBrokeIt) {
  std::vector<RequestResult> requests = {Response("a", 200), Response("a", 409), Response("b", 200),
                                         Response("b", 200)};
  const RoundVerdict per_user = Judge(requests, {}, {Expect("success==1")}, true);
  EXPECT_EQ(per_user.verdict, Verdict::kViolated);
  ASSERT_EQ(per_user.results.size(), 1u);
  EXPECT_NE(per_user.results[0].observed.find("1 of 2 users"), std::string::npos);
  EXPECT_NE(per_user.results[0].observed.find("b success=2"), std::string::npos);

  std::vector<RequestResult> fair = {Response("a", 200), Response("a", 409), Response("b", 200),
                                     Response("b", 409)};
  EXPECT_EQ(Judge(fair, {}, {Expect("success==1")}, true).verdict, Verdict::kHeld);
  // The same round judged overall has two successes.
  EXPECT_EQ(Judge(fair, {}, {Expect("success==1")}, false).verdict, Verdict::kViolated);
}

}  // namespace
}  // namespace exactly::race
