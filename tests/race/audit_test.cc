// `exactly race audit`: reading HAR files, endpoint patterns, the rules file, the
// once-only test, and a whole audit of a small app whose racy endpoints are flagged
// while its safe ones are not.
#include "race/audit.h"

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "race/audit_rules.h"
#include "race/har.h"
#include "race/race_main.h"
#include "run_race.h"
#include "support/temp_dir.h"
#include "test_http_server.h"

namespace exactly::race {
namespace {

using testing::ReadFile;
using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;

int RunAudit(std::vector<std::string> args) {
  args.insert(args.begin(), "audit");
  return testing::RunRace(std::move(args));
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// One HAR entry as browsers export it (trimmed to the fields the replay reads, plus
// a response, which it ignores).
std::string Entry(const std::string& method, const std::string& url, const std::string& body = "",
                  const std::string& extra_headers = "") {
  std::string post;
  if (!body.empty()) {
    post = R"(, "postData": {"mimeType": "application/x-www-form-urlencoded", "text": ")" + body +
           R"("})";
  }
  return R"({"startedDateTime": "2026-11-30T09:12:03.118Z", "time": 12.5, "request": {"method": ")" +
         method + R"(", "url": ")" + url +
         R"(", "httpVersion": "HTTP/1.1", "headers": [{"name": "Host", "value": "x"},)"
         R"( {"name": "Accept-Encoding", "value": "gzip"}, {"name": ":authority", "value": "x"},)"
         R"( {"name": "User-Agent", "value": "Mozilla/5.0"})" +
         extra_headers +
         R"(], "queryString": [], "cookies": [{"name": "session", "value": "old"}],)"
         R"( "headersSize": -1, "bodySize": 0)" +
         post +
         R"(}, "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [],)"
         R"( "cookies": [], "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "",)"
         R"( "headersSize": -1, "bodySize": 0}, "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}})";
}

std::string Har(const std::vector<std::string>& entries) {
  std::string out =
      R"({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "pages": [], "entries": [)";
  for (size_t k = 0; k < entries.size(); ++k) out += (k == 0 ? "" : ", ") + entries[k];
  return out + "]}}";
}

TEST(HarTest, ReadsWhatAReplayNeeds) {
  size_t skipped = 0;
  base::Result<std::vector<HarRequest>> har =
      ParseHar(Har({Entry("post", "http://127.0.0.1:5000/a?x=1", "n=1"), R"({"no": "request"})",
                    Entry("GET", "http://127.0.0.1:5000/page")}),
               &skipped);
  ASSERT_TRUE(har.ok()) << har.status().message();
  ASSERT_EQ(har->size(), 2u);
  EXPECT_EQ(skipped, 1u);
  const HarRequest& r = har->front();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://127.0.0.1:5000/a?x=1");
  EXPECT_EQ(r.body, "n=1");
  std::set<std::string> names;
  for (const auto& [name, value] : r.headers) names.insert(name);
  // Host, pseudo-headers and Accept-Encoding are the replay's own business; the
  // cookies become a Cookie header; the body's type comes from postData.
  EXPECT_EQ(names, (std::set<std::string>{"User-Agent", "Cookie", "Content-Type"}));
  EXPECT_FALSE(ParseHar("{\"log\": {}}").ok());
  EXPECT_FALSE(ParseHar("not json").ok());
  EXPECT_TRUE(IsStateChanging("DELETE"));
  EXPECT_FALSE(IsStateChanging("GET"));
}

TEST(HarTest, FormParamsAreEncodedWhenThereIsNoText) {
  const std::string entry =
      R"({"request": {"method": "POST", "url": "http://h/x", "headers": [], "postData": {"mimeType": "application/x-www-form-urlencoded", "params": [{"name": "a b", "value": "1&2"}, {"name": "c", "value": "é"}]}}})";
  base::Result<std::vector<HarRequest>> har = ParseHar(Har({entry}));
  ASSERT_TRUE(har.ok());
  EXPECT_EQ(har->front().body, "a+b=1%262&c=%C3%A9");
}

TEST(AuditRulesTest, PatternsAndRules) {
  EndpointPattern p = ParseEndpointPattern("POST */api/*").value();
  EXPECT_TRUE(p.Matches("POST", "http://127.0.0.1:5000/api/vote?post=1"));
  EXPECT_FALSE(p.Matches("PUT", "http://127.0.0.1:5000/api/vote"));
  EXPECT_TRUE(ParseEndpointPattern("/api/v?te*").value().Matches("PUT", "http://h:1/api/vote?x"));
  EXPECT_FALSE(ParseEndpointPattern("/api/vote").value().Matches("POST", "http://h/api/votes"));
  EXPECT_FALSE(ParseEndpointPattern("PO1ST /x").ok());

  base::Result<std::vector<AuditRule>> rules = ParseAuditRules(
      "# votes\n[POST */vote*]\nobserve = /count  # relative\nobserve-json = votes\n"
      "expect = after==before+success\nsuccess = status=302\n\n[*]\nsuccess = status=2xx\n");
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ(rules->front().observe, "/count");
  EXPECT_EQ(rules->front().expectations.size(), 1u);
  EXPECT_EQ(RuleFor(*rules, "POST", "http://h/vote?x"), &rules->front());
  EXPECT_EQ(RuleFor(*rules, "DELETE", "http://h/x"), &rules->back());
  base::Result<std::vector<AuditRule>> bad = ParseAuditRules("[POST /x]\nexpect = wins==1\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ParseAuditRules("observe = /x\n").ok());
  EXPECT_FALSE(ParseAuditRules("[POST /x]\ncolour = red\n").ok());
}

TEST(AuditTest, TheOnceOnlyTest) {
  std::string why;
  int64_t excess = 0;
  EXPECT_EQ(JudgeOnce({4, 6, 0}, true, false, 409, why, excess), AuditOutcome::kFlagged);
  EXPECT_EQ(excess, 3);
  EXPECT_EQ(JudgeOnce({1, 9, 0}, true, false, 409, why, excess), AuditOutcome::kHeld);
  EXPECT_EQ(JudgeOnce({10, 0, 0}, true, true, 200, why, excess), AuditOutcome::kRepeatable);
  // An unanswered copy might have been a second success.
  EXPECT_EQ(JudgeOnce({1, 8, 1}, true, false, 409, why, excess), AuditOutcome::kUnjudged);
  // Nothing succeeded: a stale session proves nothing.
  EXPECT_EQ(JudgeOnce({0, 10, 0}, true, false, 403, why, excess), AuditOutcome::kUnjudged);
  EXPECT_EQ(JudgeOnce({1, 9, 0}, false, false, 0, why, excess), AuditOutcome::kUnjudged);
}

// A small app: /sign checks then acts (racy), /claim decides under a lock, /comment
// accepts every post, /vote loses updates unless `fixed`, /count reads the votes.
TestHttpServer::Handler App(bool fixed) {
  auto mu = std::make_shared<std::mutex>();
  auto signed_in = std::make_shared<std::set<std::string>>();
  auto votes = std::make_shared<int64_t>(0);
  return [=](const TestRequest& r) {
    if (r.path == "/count") {
      std::lock_guard<std::mutex> lock(*mu);
      return TestResponse{200, "{\"votes\": " + std::to_string(*votes) + "}"};
    }
    if (r.path == "/comment") return TestResponse{201, "posted"};
    if (r.path == "/claim" || (fixed && r.path == "/sign")) {
      std::lock_guard<std::mutex> lock(*mu);
      return signed_in->insert(r.path).second ? TestResponse{200, "won"}
                                              : TestResponse{409, "held"};
    }
    if (r.path == "/sign") {
      {
        std::lock_guard<std::mutex> lock(*mu);
        if (signed_in->count(r.path) != 0) return TestResponse{409, "held"};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::lock_guard<std::mutex> lock(*mu);
      signed_in->insert(r.path);
      return TestResponse{200, "won"};
    }
    if (r.path == "/vote") {
      int64_t seen = 0;
      {
        std::lock_guard<std::mutex> lock(*mu);
        if (fixed) return TestResponse{302, std::to_string(++*votes)};
        seen = *votes;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      std::lock_guard<std::mutex> lock(*mu);
      *votes = seen + 1;
      return TestResponse{302, ""};
    }
    return TestResponse{404, "no such page"};
  };
}

std::string AppHar(const TestHttpServer& s) {
  return Har({Entry("GET", s.Url("/page")), Entry("POST", s.Url("/sign"), "day=1"),
              Entry("POST", s.Url("/claim")), Entry("POST", s.Url("/comment"), "text=hi"),
              Entry("POST", s.Url("/vote")), Entry("POST", s.Url("/sign"), "day=1")});
}

constexpr const char* kRules =
    "[POST */vote]\nobserve = /count\nobserve-json = votes\nexpect = after==before+success\n";

TEST(AuditTest, FlagsTheRacyEndpointsOfARecordedSession) {
  exactly::testing::TempDir dir;
  TestHttpServer racy(App(false));
  WriteFile(dir.File("s.har"), AppHar(racy));
  WriteFile(dir.File("rules"), kRules);
  EXPECT_EQ(
      RunAudit({dir.File("s.har"), "--rules", dir.File("rules"), "-H", "Cookie: session=fresh",
                "--json", dir.File("a.json"), "--html", dir.File("a.html")}),
      1);
  // Four endpoints (the GET and the repeated /sign are not replayed): 10 copies and
  // one lone copy each, and two probe reads for /vote.
  size_t page = 0;
  for (const TestRequest& r : racy.Requests()) page += r.path == "/page" ? 1 : 0;
  EXPECT_EQ(page, 0u);
  EXPECT_EQ(racy.Requests().size(), 4u * 11 + 2);
  const std::string json = ReadFile(dir.File("a.json"));
  // Ranked: the two flagged endpoints first, then the held claim, the repeatable comment.
  const size_t sign = json.find("\"url\": \"" + racy.Url("/sign") + "\", \"verdict\": \"FLAGGED\"");
  const size_t vote = json.find("\"url\": \"" + racy.Url("/vote") + "\", \"verdict\": \"FLAGGED\"");
  const size_t claim = json.find("\"url\": \"" + racy.Url("/claim") + "\", \"verdict\": \"held\"");
  const size_t comment =
      json.find("\"url\": \"" + racy.Url("/comment") + "\", \"verdict\": \"repeatable\"");
  ASSERT_NE(sign, std::string::npos) << json;
  ASSERT_NE(vote, std::string::npos) << json;
  ASSERT_NE(claim, std::string::npos) << json;
  ASSERT_NE(comment, std::string::npos) << json;
  EXPECT_LT(std::max(sign, vote), claim);
  EXPECT_LT(claim, comment);
  const std::string html = ReadFile(dir.File("a.html"));
  EXPECT_NE(html.find("<h2 id='e1'>"), std::string::npos);
  EXPECT_NE(html.find("<h2 id='e4'>"), std::string::npos);
  EXPECT_NE(html.find("Cookie: session=fresh"), std::string::npos);
  EXPECT_EQ(html.find("session=old"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);

  TestHttpServer safe(App(true));
  WriteFile(dir.File("safe.har"), AppHar(safe));
  EXPECT_EQ(RunAudit({dir.File("safe.har"), "--rules", dir.File("rules")}), 0);
}

TEST(AuditTest, IncludeExcludeAndReset) {
  exactly::testing::TempDir dir;
  TestHttpServer app(App(true));
  WriteFile(dir.File("s.har"), AppHar(app));
  const std::string marker = dir.File("resets");
  EXPECT_EQ(RunAudit({dir.File("s.har"), "--include", "POST /c*", "--exclude", "*/comment", "-n",
                      "4", "--reset", "echo x >> " + marker}),
            0);
  EXPECT_EQ(app.Requests().size(), 5u);  // /claim only: 4 copies and the lone one
  EXPECT_EQ(ReadFile(marker), "x\n");
  // A failing reset leaves the endpoint unjudged.
  EXPECT_EQ(RunAudit({dir.File("s.har"), "--include", "POST */comment", "--reset", "false"}), 2);
}

TEST(AuditTest, RefusesWhatItShouldNotSend) {
  exactly::testing::TempDir dir;
  TestHttpServer app(App(true));
  // A host that is not this machine: refused before anything is sent.
  WriteFile(dir.File("remote.har"), Har({Entry("POST", "http://192.0.2.7:8080/sign")}));
  EXPECT_EQ(RunAudit({dir.File("remote.har")}), 2);
  // A probe on a host the HAR does not name.
  WriteFile(dir.File("s.har"), AppHar(app));
  WriteFile(dir.File("rules"), "[POST */vote]\nobserve = http://127.0.0.2:9/count\n");
  EXPECT_EQ(RunAudit({dir.File("s.har"), "--include", "POST */vote", "--rules", dir.File("rules")}),
            2);
  EXPECT_TRUE(app.Requests().empty());
  // Usage errors.
  EXPECT_EQ(RunAudit({dir.File("missing.har")}), 2);
  WriteFile(dir.File("gets.har"), Har({Entry("GET", app.Url("/page"))}));
  EXPECT_EQ(RunAudit({dir.File("gets.har")}), 2);
  EXPECT_EQ(RunAudit({dir.File("s.har"), "-n", "1"}), 2);
}

}  // namespace
}  // namespace exactly::race
