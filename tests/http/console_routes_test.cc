// The console's routes (http/console_routes.h): which targets they take, their
// query parameters at and past their bounds, the built-in page, the JSON of a
// table page and of the stats, and their place in the OpenAPI document.
#include "http/console_routes.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http/openapi.h"
#include "net/errors.h"

namespace exactly::http {
namespace {

using Kind = ConsoleRoute::Kind;

TEST(ConsoleRoutesTest, ThePageAndItsFilesAreBuiltIn) {
  const ConsoleAsset* page = FindConsoleAsset("/");
  ASSERT_NE(page, nullptr);
  EXPECT_TRUE(page->content_type.starts_with("text/html"));
  EXPECT_NE(page->bytes.find("<title>exactly console</title>"), std::string_view::npos);
  // Everything the page loads is served here: no other host.
  EXPECT_EQ(page->bytes.find("http://"), std::string_view::npos);
  EXPECT_EQ(page->bytes.find("https://"), std::string_view::npos);
  for (const char* path : {"/console/console.js", "/console/console.css"}) {
    const ConsoleAsset* asset = FindConsoleAsset(path);
    ASSERT_NE(asset, nullptr) << path;
    EXPECT_GT(asset->bytes.size(), 1000u) << path;
  }
  EXPECT_EQ(FindConsoleAsset("/console/nothing.js"), nullptr);
  EXPECT_EQ(FindConsoleRoute("/?x=1").kind, Kind::kAsset);
  EXPECT_EQ(FindConsoleRoute("/v1/claim").kind, Kind::kNone);
  EXPECT_EQ(FindConsoleRoute("/metrics").kind, Kind::kNone);
  EXPECT_EQ(FindConsoleRoute("/v1/stats").kind, Kind::kStats);
}

TEST(ConsoleRoutesTest, TableQueries) {
  const ConsoleRoute route =
      FindConsoleRoute("/v1/tables/locks?prefix=job%3A%2F+x&limit=1000&cursor=4:6a6f62");
  ASSERT_EQ(route.kind, Kind::kTable) << route.detail;
  EXPECT_EQ(route.table, core::ScanTable::kLocks);
  EXPECT_EQ(route.prefix, "job:/ x");
  EXPECT_EQ(route.limit, 1000u);
  EXPECT_EQ(route.Request().cursor, "4:6a6f62");
  const ConsoleRoute plain = FindConsoleRoute("/v1/tables/claims");
  ASSERT_EQ(plain.kind, Kind::kTable);
  EXPECT_EQ(plain.limit, core::kScanRowsDefault);
  EXPECT_EQ(plain.prefix, "");
  // A prefix of binary bytes.
  EXPECT_EQ(FindConsoleRoute("/v1/tables/claims?prefix=%00%ff").prefix, std::string("\0\xff", 2));
  EXPECT_EQ(FindConsoleRoute("/v1/tables/claims?prefix=" + std::string(512, 'k')).kind,
            Kind::kTable);
}

TEST(ConsoleRoutesTest, BadQueriesAreProblems) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/v1/tables/transfers",
       net::ErrUnknownTable("transfers", "claims, accounts, locks, idempotency, limits")},
      {"/v1/tables/", net::ErrUnknownTable("", "claims, accounts, locks, idempotency, limits")},
      {"/v1/tables/claims?limit=0", net::ErrQueryParameter("limit", "an integer from 1 to 1000")},
      {"/v1/tables/claims?limit=1001",
       net::ErrQueryParameter("limit", "an integer from 1 to 1000")},
      {"/v1/tables/claims?limit=", net::ErrQueryParameter("limit", "an integer from 1 to 1000")},
      {"/v1/tables/claims?limit=1e3", net::ErrQueryParameter("limit", "an integer from 1 to 1000")},
      {"/v1/tables/claims?prefix=" + std::string(513, 'k'),
       net::ErrQueryParameter("prefix", "at most 512 bytes, as a key")},
      {"/v1/tables/claims?cursor=4:6a",
       net::ErrQueryParameter("cursor", "a cursor a page of this table returned")},
      {"/v1/tables/limits?cursor=4",
       net::ErrQueryParameter("cursor", "a cursor a page of this table returned")},
      {"/v1/tables/claims?order=key",
       net::ErrQueryParameter("order", "one of prefix, cursor, limit (no other)")},
      {"/v1/tables/claims?prefix=%4",
       net::ErrQueryParameter("?", "percent-encoded (a % takes two hex digits)")},
  };
  for (const auto& [target, detail] : cases) {
    const ConsoleRoute route = FindConsoleRoute(target);
    EXPECT_EQ(route.kind, Kind::kProblem) << target;
    EXPECT_EQ(route.detail, detail) << target;
    EXPECT_EQ(route.status, target.find('?') == std::string::npos ? 404 : 400) << target;
  }
}

TEST(ConsoleRoutesTest, ParseQuerySplitsAndDecodes) {
  std::vector<std::pair<std::string, std::string>> params;
  ASSERT_TRUE(ParseQuery("a=1&&b=%41+c&flag&=x", &params));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"a", "1"}, {"b", "A c"}, {"flag", ""}, {"", "x"}};
  EXPECT_EQ(params, expected);
  EXPECT_FALSE(ParseQuery("a=%", &params));
  EXPECT_FALSE(ParseQuery("a=%g0", &params));
  EXPECT_TRUE(ParseQuery("", &params));
  EXPECT_TRUE(params.empty());
}

TEST(ConsoleRoutesTest, PageAndStatsJson) {
  core::ScanPage page;
  core::Reply row;
  row.Add("key", std::string("acct:a")).Add("balance", int64_t{9007199254740993});
  page.rows.push_back(row);
  page.cursor = "12";
  page.visited = 3;
  page.total = 40;
  const boost::json::value json =
      boost::json::parse(TablePageJson(core::ScanTable::kAccounts, std::move(page)));
  EXPECT_EQ(json.at("table").as_string(), "accounts");
  EXPECT_EQ(json.at("rows").at(0).at("key").as_string(), "acct:a");
  EXPECT_EQ(json.at("rows").at(0).at("balance").as_string(), "9007199254740993");
  EXPECT_EQ(json.at("cursor").as_string(), "12");
  EXPECT_EQ(json.at("visited").as_int64(), 3);
  EXPECT_EQ(json.at("total").as_int64(), 40);

  ConsoleNumbers numbers;
  numbers.facts.counters.replies[1][0] = 5;
  numbers.facts.counters.replies[2][3] = 2;
  numbers.facts.tables.claims = 7;
  numbers.facts.limits.claims_max = 100;
  numbers.commit_batches = 4;
  numbers.commit_total_us = 800;
  numbers.http_connections = 2;
  const boost::json::value stats = boost::json::parse(StatsJson(numbers));
  EXPECT_EQ(stats.at("replies").to_number<uint64_t>(), 7u);
  EXPECT_EQ(stats.at("commit").at("batches").to_number<uint64_t>(), 4u);
  EXPECT_EQ(stats.at("commit").at("total_us").to_number<uint64_t>(), 800u);
  EXPECT_EQ(stats.at("tables").at("claims").at("count").to_number<uint64_t>(), 7u);
  EXPECT_EQ(stats.at("tables").at("claims").at("max").to_number<uint64_t>(), 100u);
  EXPECT_EQ(stats.at("connections").at("http").to_number<uint64_t>(), 2u);
  EXPECT_FALSE(stats.at("console_writes").as_bool());
}

TEST(ConsoleRoutesTest, TheOpenApiDocumentDescribesThem) {
  const boost::json::value document = boost::json::parse(OpenApiJson());
  const boost::json::object& paths = document.at("paths").as_object();
  ASSERT_TRUE(paths.contains("/v1/tables/{table}"));
  ASSERT_TRUE(paths.contains("/v1/stats"));
  ASSERT_TRUE(paths.contains("/"));
  const boost::json::value& get = paths.at("/v1/tables/{table}").at("get");
  const boost::json::array& parameters = get.at("parameters").as_array();
  EXPECT_EQ(parameters.at(0).at("schema").at("enum").as_array().size(),
            std::size(core::kScanTables));
  EXPECT_EQ(parameters.at(3).at("schema").at("maximum").to_number<uint64_t>(), core::kScanRowsMax);
  EXPECT_NE(ReferenceMarkdown().find("### GET /v1/tables/{table}"), std::string::npos);
}

}  // namespace
}  // namespace exactly::http
