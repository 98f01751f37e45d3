// State probes: expectations with arithmetic over before/after, reading the integer
// out of a body, and lost-update counters caught over HTTP/1.1, h2c and RESP while
// their atomic versions hold; a probe that cannot be read leaves the round unknown.
#include "race/probe.h"

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "race/race_main.h"
#include "race/rules.h"
#include "run_race.h"
#include "support/temp_dir.h"
#include "test_counter_servers.h"
#include "test_http_server.h"

namespace exactly::race {
namespace {

using testing::CounterH2Server;
using testing::CounterRespServer;
using testing::Increment;
using testing::ReadFile;
using testing::RunRace;
using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;

Expectation Expect(const char* text) {
  base::Result<Expectation> e = ParseExpectation(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().message();
  return e.ok() ? e.value() : Expectation{};
}

TEST(ExpectationTest, ArithmeticParses) {
  const Expectation e = Expect("after == before + success");
  EXPECT_TRUE(e.UsesProbes());
  EXPECT_EQ(e.left.coefficient[static_cast<int>(Name::kAfter)], 1);
  EXPECT_EQ(e.right.coefficient[static_cast<int>(Name::kBefore)], 1);
  EXPECT_EQ(e.right.coefficient[static_cast<int>(Name::kSuccess)], 1);
  const Expectation pay = Expect("after==before-30*success+5");
  EXPECT_EQ(pay.right.coefficient[static_cast<int>(Name::kSuccess)], -30);
  EXPECT_EQ(pay.right.constant, 5);
  EXPECT_EQ(Expect("-2*failure<=-1").left.coefficient[static_cast<int>(Name::kFailure)], -2);
  EXPECT_FALSE(Expect("success==1").UsesProbes());
  EXPECT_FALSE(ParseExpectation("after==before+").ok());
  EXPECT_FALSE(ParseExpectation("after==before*success").ok());
  EXPECT_FALSE(ParseExpectation("after==befor").ok());
  EXPECT_FALSE(ParseExpectation("after==before==success").ok());
  EXPECT_FALSE(ParseExpectation("success==99999999999999999999").ok());
  EXPECT_FALSE(ParseExpectation("success 1").ok());
}

TEST(ExpectationTest, ProbesDecideAndMissingOnesAreUnknown) {
  const Expectation e = Expect("after==before+success");
  EXPECT_EQ(Evaluate(e, {10, 0, 0}, {5, 15}), Verdict::kHeld);
  EXPECT_EQ(Evaluate(e, {10, 0, 0}, {5, 9}), Verdict::kViolated);
  EXPECT_EQ(Evaluate(e, {10, 0, 0}, {5, std::nullopt}), Verdict::kUnknown);
  EXPECT_EQ(Evaluate(e, {10, 0, 0}, {}), Verdict::kUnknown);
  // Two requests without an answer: after may be before + 8, 9 or 10.
  EXPECT_EQ(Evaluate(e, {8, 0, 2}, {0, 9}), Verdict::kUnknown);
  EXPECT_EQ(Evaluate(e, {8, 0, 2}, {0, 11}), Verdict::kViolated);
  EXPECT_EQ(Evaluate(Expect("before-after<=5"), {0, 0, 0}, {20, 15}), Verdict::kHeld);
  EXPECT_EQ(Evaluate(Expect("before-after<=5"), {0, 0, 0}, {20, 14}), Verdict::kViolated);
  EXPECT_EQ(DescribeValues(e, {3, 1, 0}, {7, std::nullopt}), "before=7 after=? success=3");
}

ProbeSpec Spec(const std::string& regex, const std::string& json) {
  ProbeOptions o;
  o.url = "http://127.0.0.1:1/count";
  o.value_regex = regex;
  o.json_path = json;
  base::Result<std::optional<ProbeSpec>> spec = MakeProbe(o, Target{});
  EXPECT_TRUE(spec.ok() && spec->has_value());
  return spec.ok() && spec->has_value() ? **spec : ProbeSpec{};
}

TEST(ProbeTest, ExtractsTheInteger) {
  EXPECT_EQ(ExtractValue(Spec("", ""), " 42\n").value(), 42);
  EXPECT_EQ(ExtractValue(Spec("votes: (-?\\d+)", ""), "<b>votes: -3</b>").value(), -3);
  EXPECT_EQ(ExtractValue(Spec("\\d+", ""), "n=17;").value(), 17);
  EXPECT_EQ(
      ExtractValue(Spec("", "data.items.1.n"), R"({"data":{"items":[{"n":1},{"n":2}]}})").value(),
      2);
  EXPECT_EQ(ExtractValue(Spec("", "balance"), R"({"balance": "70"})").value(), 70);
  EXPECT_EQ(ExtractValue(Spec("", "balance"), R"({"balance": 70.0})").value(), 70);
  EXPECT_FALSE(ExtractValue(Spec("", "balance"), R"({"balance": null})").ok());
  EXPECT_FALSE(ExtractValue(Spec("", "balance"), R"({"other": 1})").ok());
  EXPECT_FALSE(ExtractValue(Spec("", "balance"), "<html>").ok());
  EXPECT_FALSE(ExtractValue(Spec("votes: (\\d+)", ""), "no votes").ok());
  EXPECT_FALSE(ExtractValue(Spec("", ""), "n/a").ok());
}

TEST(ProbeTest, InconsistentOptionsAreUsageErrors) {
  auto make = [](const char* url, const char* command, const char* regex, const char* json,
                 const char* race) {
    ProbeOptions o;
    o.url = url;
    o.command = command;
    o.value_regex = regex;
    o.json_path = json;
    return MakeProbe(o, ParseTarget(race).value()).ok();
  };
  EXPECT_TRUE(make("", "", "", "", "http://x/"));
  EXPECT_FALSE(make("", "", "(\\d+)", "", "http://x/"));
  EXPECT_FALSE(make("", "GET n", "", "", "http://x/"));
  EXPECT_TRUE(make("", "GET n", "", "", "resp://x"));
  EXPECT_FALSE(make("resp://x", "", "", "", "resp://x"));
  EXPECT_FALSE(make("http://x/", "", "(", "", "http://x/"));
  EXPECT_FALSE(make("http://x/", "", "a", "b", "http://x/"));
  EXPECT_FALSE(make("http://x/", "", "", "a..b", "http://x/"));
  EXPECT_FALSE(make("http://x/{{nope}}", "", "", "", "http://x/"));
}

// POST /vote reads the counter, works a little, writes what it read plus one (or
// increments under the lock); GET /count answers {"votes": N}.
TestHttpServer::Handler Counter(Increment how) {
  auto mu = std::make_shared<std::mutex>();
  auto votes = std::make_shared<int64_t>(0);
  return [mu, votes, how](const TestRequest& r) {
    if (r.path == "/count") {
      std::lock_guard<std::mutex> lock(*mu);
      return TestResponse{200, "{\"votes\": " + std::to_string(*votes) + "}"};
    }
    if (r.path == "/count-text") {
      std::lock_guard<std::mutex> lock(*mu);
      return TestResponse{200, "<p>votes: " + std::to_string(*votes) + "</p>"};
    }
    if (r.path == "/broken-count") return TestResponse{200, "<p>votes: n/a</p>"};
    if (r.path == "/missing") return TestResponse{404, "no such page"};
    if (how == Increment::kAtomic) {
      std::lock_guard<std::mutex> lock(*mu);
      ++*votes;
      return TestResponse{302, ""};
    }
    int64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(*mu);
      seen = *votes;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::lock_guard<std::mutex> lock(*mu);
    *votes = seen + 1;
    return TestResponse{302, ""};
  };
}

TEST(ProbeRaceTest, LostUpdateOverHttp1IsCaughtAndItsFixHolds) {
  exactly::testing::TempDir dir;
  TestHttpServer lost(Counter(Increment::kLostUpdate));
  // Every vote answers 302: judged by responses alone, the race holds.
  EXPECT_EQ(RunRace({lost.Url("/vote"), "-X", "POST", "-n", "10", "--success", "status=302",
                     "--expect", "success==10"}),
            0);
  EXPECT_EQ(RunRace({lost.Url("/vote"), "-X", "POST", "-n", "10", "--rounds", "2", "--success",
                     "status=302", "--observe", lost.Url("/count"), "--observe-json", "votes",
                     "--expect", "after==before+success", "--json", dir.File("lost.json")}),
            1);
  const std::string json = ReadFile(dir.File("lost.json"));
  EXPECT_NE(json.find("\"verdict\": \"violated\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"probe_error\": \"\""), std::string::npos);
  EXPECT_NE(json.find("\"observe\": \"GET "), std::string::npos);

  TestHttpServer fixed(Counter(Increment::kAtomic));
  EXPECT_EQ(RunRace({fixed.Url("/vote"), "-X", "POST", "-n", "10", "--rounds", "2", "--success",
                     "status=302", "--observe", fixed.Url("/count-text"), "--observe-value",
                     "votes: (\\d+)", "--expect", "after==before+success", "--html",
                     dir.File("fixed.html"), "--json", dir.File("fixed.json")}),
            0);
  EXPECT_NE(ReadFile(dir.File("fixed.json")).find("\"before\": 10, \"after\": 20"),
            std::string::npos);
  const std::string html = ReadFile(dir.File("fixed.html"));
  EXPECT_NE(html.find("<th>before</th><th>after</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>0</td><td>10</td><td>+10</td>"), std::string::npos);
}

TEST(ProbeRaceTest, LostUpdateOverH2cIsCaughtAndItsFixHolds) {
  CounterH2Server lost(Increment::kLostUpdate);
  EXPECT_EQ(
      RunRace({lost.Url("/vote"), "--h2", "-X", "POST", "-d", "v=1", "-n", "10", "--observe",
               lost.Url("/count"), "--observe-json", "votes", "--expect", "after==before+success"}),
      1);
  CounterH2Server fixed(Increment::kAtomic);
  EXPECT_EQ(RunRace({fixed.Url("/vote"), "--h2", "-X", "POST", "-d", "v=1", "-n", "10", "--rounds",
                     "2", "--observe", fixed.Url("/count"), "--observe-json", "votes", "--expect",
                     "after==before+success"}),
            0);
}

TEST(ProbeRaceTest, LostUpdateOverRespIsCaughtAndItsFixHolds) {
  CounterRespServer lost(Increment::kLostUpdate);
  EXPECT_EQ(RunRace({lost.Url(), "--command", "VOTE n", "-n", "10", "--observe-command", "GET n",
                     "--expect", "after==before+success"}),
            1);
  CounterRespServer fixed(Increment::kAtomic);
  // The probe may name its own resp:// address; the command is templated.
  EXPECT_EQ(RunRace({fixed.Url(), "--command", "VOTE n{{round}}", "-n", "10", "--rounds", "2",
                     "--observe", fixed.Url(), "--observe-command", "GET n{{round}}", "--expect",
                     "after==before+success", "--expect", "before==0"}),
            0);
}

TEST(ProbeRaceTest, AProbeThatCannotBeReadMakesTheRoundUnknown) {
  TestHttpServer fixed(Counter(Increment::kAtomic));
  const std::vector<std::string> race = {fixed.Url("/vote"), "-X",        "POST", "-n", "4",
                                         "--success",        "status=302"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = race;
    args.insert(args.end(), more.begin(), more.end());
    return RunRace(args);
  };
  EXPECT_EQ(with({"--observe", fixed.Url("/broken-count"), "--observe-value", "votes: (\\d+)",
                  "--expect", "after==before+success"}),
            2);
  EXPECT_EQ(with({"--observe", fixed.Url("/count"), "--observe-value", "votes: (\\d+)", "--expect",
                  "after==before+success"}),
            2);
  EXPECT_EQ(with({"--observe", fixed.Url("/missing"), "--expect", "after==before+success"}), 2);
  // Even an expectation that does not read the probe cannot pass the round.
  EXPECT_EQ(with({"--observe", fixed.Url("/missing"), "--expect", "success==4"}), 2);
  // A violation the responses show is still a violation.
  EXPECT_EQ(with({"--observe", fixed.Url("/missing"), "--expect", "success==1"}), 1);
  // Usage errors: before/after without a probe, a probe rule without a probe.
  EXPECT_EQ(with({"--expect", "after==before+success"}), 2);
  EXPECT_EQ(with({"--observe-json", "votes"}), 2);
}

}  // namespace
}  // namespace exactly::race
