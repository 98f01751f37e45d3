// Behavioural tests of `exactly race` against the built-in test server: the release
// spread is reported, last-byte sync makes requests arrive closer together than
// naive sending, exit codes follow the verdict, templates reach the wire.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "race/fire.h"
#include "race/race_main.h"
#include "race/wire.h"
#include "run_race.h"
#include "support/temp_dir.h"
#include "test_http_server.h"

namespace exactly::race {
namespace {

using testing::ReadFile;
using testing::RunRace;
using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;

// First caller per path wins, decided under one lock: an honest claim.
TestHttpServer::Handler Honest() {
  auto mu = std::make_shared<std::mutex>();
  auto taken = std::make_shared<std::set<std::string>>();
  return [mu, taken](const TestRequest& r) {
    std::lock_guard<std::mutex> lock(*mu);
    return taken->insert(r.path).second ? TestResponse{200, "won"} : TestResponse{409, "held"};
  };
}

// Check, then slow work, then act: the incidents' bug.
TestHttpServer::Handler Broken() {
  auto mu = std::make_shared<std::mutex>();
  auto taken = std::make_shared<std::set<std::string>>();
  return [mu, taken](const TestRequest& r) {
    {
      std::lock_guard<std::mutex> lock(*mu);
      if (taken->count(r.path) != 0) return TestResponse{409, "held"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> lock(*mu);
    taken->insert(r.path);
    return TestResponse{200, "won"};
  };
}

int64_t Spread(std::vector<int64_t> arrivals) {
  if (arrivals.empty()) return 0;
  const auto [lo, hi] = std::minmax_element(arrivals.begin(), arrivals.end());
  return *hi - *lo;
}

int64_t Median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(RaceTest, ExitZeroWhenTheServerHonoursTheInvariant) {
  TestHttpServer server(Honest());
  EXPECT_EQ(RunRace({server.Url("/claim/{{round}}"), "-n", "12", "--rounds", "3", "--expect",
                     "success==1", "-X", "POST"}),
            0);
  EXPECT_EQ(server.Requests().size(), 36u);
}

TEST(RaceTest, ExitOneWhenTheServerBreaksIt) {
  TestHttpServer server(Broken());
  EXPECT_EQ(RunRace({server.Url("/claim/{{round}}"), "-n", "8", "--rounds", "2", "--expect",
                     "success==1", "-X", "POST"}),
            1);
}

TEST(RaceTest, ExitTwoWhenTheTargetRefuses) {
  uint16_t port = 0;
  {
    TestHttpServer closed(Honest());
    port = closed.port();
  }
  EXPECT_EQ(RunRace({"http://127.0.0.1:" + std::to_string(port) + "/", "-n", "3", "--expect",
                     "success==1"}),
            2);
}

TEST(RaceTest, ExitTwoOnUsageErrors) {
  TestHttpServer server(Honest());
  EXPECT_EQ(RunRace({server.Url("/"), "--expect", "wins==1"}), 2);
  EXPECT_EQ(RunRace({server.Url("/{{nope}}")}), 2);
  EXPECT_EQ(RunRace({"gopher://x/"}), 2);
  EXPECT_EQ(RunRace({server.Url("/"), "--success", "status=2"}), 2);
  EXPECT_TRUE(server.Requests().empty());
}

TEST(RaceTest, TemplatesReachTheWire) {
  TestHttpServer server(Honest());
  ASSERT_EQ(RunRace({server.Url("/u/{{user}}/{{i}}"), "-n", "4", "--users", "2", "-d",
                     "n={{i}}&r={{round}}", "-H", "X-Who: {{user}}"}),
            0);
  std::set<std::string> paths;
  std::set<std::string> bodies;
  for (const TestRequest& r : server.Requests()) {
    paths.insert(r.path);
    bodies.insert(r.body);
    EXPECT_EQ(r.method, "POST");
  }
  EXPECT_EQ(paths, (std::set<std::string>{"/u/user1/1", "/u/user2/2", "/u/user1/3", "/u/user2/4"}));
  EXPECT_EQ(bodies, (std::set<std::string>{"n=1&r=1", "n=2&r=1", "n=3&r=1", "n=4&r=1"}));
}

TEST(RaceTest, PerUserExpectations) {
  TestHttpServer server(Honest());
  // One claim per user: two users, each wins once, so per user it holds...
  EXPECT_EQ(RunRace({server.Url("/sign/{{user}}"), "-n", "6", "--users", "2", "--expect",
                     "success==1", "--per-user"}),
            0);
  server.Reset();
  // ...while the same race judged overall sees two successes.
  EXPECT_EQ(
      RunRace({server.Url("/sign2/{{user}}"), "-n", "6", "--users", "2", "--expect", "success==1"}),
      1);
}

TEST(RaceTest, ReportsReleaseSpreadInJsonAndHtml) {
  TestHttpServer server(Honest());
  exactly::testing::TempDir dir;
  ASSERT_EQ(RunRace({server.Url("/r/{{round}}"), "-n", "5", "--rounds", "2", "--expect",
                     "success==1", "--success", "body~won|held", "--success", "status=2xx",
                     "--json", dir.File("out.json"), "--html", dir.File("out.html")}),
            0);
  const std::string json = ReadFile(dir.File("out.json"));
  EXPECT_NE(json.find("\"release_spread_us\": "), std::string::npos);
  EXPECT_NE(json.find("\"result\": \"held\""), std::string::npos);
  EXPECT_NE(json.find("\"status\": 409"), std::string::npos);
  EXPECT_NE(json.find("\"body\": \"held\""), std::string::npos);
  const std::string html = ReadFile(dir.File("out.html"));
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("release spread"), std::string::npos);
  EXPECT_EQ(
      html.find("http://") == std::string::npos || html.find("<script src") == std::string::npos,
      true);
}

TEST(RaceTest, LastByteSyncArrivesCloserTogetherThanNaiveSending) {
  TestHttpServer server([](const TestRequest&) { return TestResponse{200, "ok"}; });
  base::Result<Target> target = ParseTarget(server.Url("/"));
  ASSERT_TRUE(target.ok());
  constexpr int kRequests = 16;
  constexpr int kRounds = 7;
  std::vector<std::string> payloads;
  for (int i = 0; i < kRequests; ++i) {
    HttpRequest r;
    r.method = "POST";
    r.host = "127.0.0.1";
    r.path = "/";
    r.body = "n=" + std::to_string(i);
    payloads.push_back(SerializeHttp(r));
  }
  std::vector<int64_t> synced;
  std::vector<int64_t> naive;
  for (int round = 0; round < kRounds; ++round) {
    for (SyncMode mode : {SyncMode::kLastByte, SyncMode::kNaive}) {
      server.Reset();
      FireOptions options;
      options.sync = mode;
      base::Result<RoundRun> run = Fire(*target, payloads, options);
      ASSERT_TRUE(run.ok());
      EXPECT_GE(run->release_spread_us, 0);
      for (const RequestResult& r : run->requests) {
        EXPECT_EQ(r.status, 200);
        EXPECT_GE(r.end_us, r.start_us);
      }
      ASSERT_EQ(server.Arrivals().size(), static_cast<size_t>(kRequests));
      (mode == SyncMode::kLastByte ? synced : naive).push_back(Spread(server.Arrivals()));
    }
  }
  std::printf("arrival spread medians over %d rounds: last-byte %lld us, naive %lld us\n", kRounds,
              static_cast<long long>(Median(synced)), static_cast<long long>(Median(naive)));
  EXPECT_LE(Median(synced), Median(naive)) << "last-byte median arrival spread " << Median(synced)
                                           << " µs, naive " << Median(naive) << " µs";
}

TEST(RaceTest, LoadModeSendsAtTheRateAndReportsLatency) {
  TestHttpServer server([](const TestRequest&) { return TestResponse{200, "ok"}; });
  exactly::testing::TempDir dir;
  ASSERT_EQ(RunRace({server.Url("/l/{{i}}"), "--load", "200", "--duration", "0.5", "--connections",
                     "4", "--expect", "error==0", "--json", dir.File("l.json")}),
            0);
  // Open loop: every scheduled request was sent, whatever the answers' pace.
  EXPECT_EQ(server.Requests().size(), 100u);
  const std::string json = ReadFile(dir.File("l.json"));
  EXPECT_NE(json.find("\"load\": {"), std::string::npos);
  EXPECT_NE(json.find("\"sent\": 100"), std::string::npos);
}

TEST(RaceTest, UnansweredRequestsMakeTheOutcomeUnknownNotAPass) {
  // The server answers the first request and stalls the rest past the timeout.
  auto count = std::make_shared<std::atomic<int>>(0);
  TestHttpServer server([count](const TestRequest&) {
    if (count->fetch_add(1) > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return TestResponse{200, "ok"};
  });
  EXPECT_EQ(RunRace({server.Url("/"), "-n", "3", "--expect", "success==1", "--timeout-ms", "500"}),
            2);
}

}  // namespace
}  // namespace exactly::race
