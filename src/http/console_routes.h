// ConsoleRoutes: the web console's GET routes on the HTTP port (docs/http.md,
// "Console"):
//   GET /                      the page (console/src/index.html, built into the binary)
//   GET /console/<file>        its script and style sheet
//   GET /v1/stats              live numbers as JSON: engine replies so far, commit
//                              latency totals, table sizes and maxima, connections
//   GET /v1/tables/<table>?prefix=&cursor=&limit=
//                              a page of a table (core/table_scan.h) as JSON, read
//                              on the loop thread in order with the commands and
//                              held until what it shows is durable
// Everything here only reads: the page sends writes (POST /v1/<command>) only when
// the server runs with --console-writes, which /v1/stats reports.
//
// Pure functions, but for HttpConnection::HandleConsole (console_routes.cc), which
// answers a request's slot with them; thread-safe otherwise.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/table_scan.h"
#include "net/server_view.h"

namespace exactly::http {

// The console's live numbers, as HttpHandler::Numbers gathers them.
struct ConsoleNumbers {
  net::ServerFacts facts;
  // Batches journaled and then reported durable, and the time between.
  uint64_t commit_batches = 0;
  uint64_t commit_total_us = 0;
  uint64_t commit_max_us = 0;
  size_t http_connections = 0;
  bool console_writes = false;  // --console-writes: the page may send commands
};

// A file the page is made of, built into the binary (console_assets.cc, generated
// by CMake from console/dist).
struct ConsoleAsset {
  std::string_view path;  // "/", "/console/console.js"
  std::string_view content_type;
  std::string_view bytes;
};
// The asset served at `path`, or nullptr.
const ConsoleAsset* FindConsoleAsset(std::string_view path);

// A GET request's target, as the console reads it.
struct ConsoleRoute {
  enum class Kind { kNone, kAsset, kStats, kTable, kProblem };
  Kind kind = Kind::kNone;
  const ConsoleAsset* asset = nullptr;  // kAsset
  // kTable: the page asked for (its views point into `prefix` and `cursor`).
  core::ScanTable table = core::ScanTable::kClaims;
  std::string prefix;
  std::string cursor;
  size_t limit = core::kScanRowsDefault;
  // kProblem: a 400 or 404 with this detail (net/errors.h).
  int status = 0;
  std::string detail;

  core::ScanRequest Request() const;
};

// What `target` (path and query) names; kNone when no console route matches.
ConsoleRoute FindConsoleRoute(std::string_view target);

// A table page as JSON: {"table", "rows": [...], "cursor", "visited", "total"};
// integers past 2^53 as strings, as in every reply (http/json_reply.h).
std::string TablePageJson(core::ScanTable table, core::ScanPage page);
// GET /v1/stats' body.
std::string StatsJson(const ConsoleNumbers& numbers);

// The console's paths in the OpenAPI document (http/openapi.h), and their part
// of docs/http.md's generated reference (console_openapi.cc).
void AddConsolePaths(boost::json::object* paths);
std::string ConsoleReferenceMarkdown();

// "a=1&b=%20x" → decoded pairs in `out`; false on a malformed escape.
bool ParseQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>* out);

}  // namespace exactly::http
