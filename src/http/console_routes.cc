// The console's GET routes (see console_routes.h), and their place in
// HttpConnection's dispatch.
#include "http/console_routes.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <utility>
#include <vector>

#include "http/http_connection.h"
#include "http/json_reply.h"
#include "net/errors.h"

namespace exactly::http {
namespace {

namespace json = boost::json;

constexpr std::string_view kTablesPath = "/v1/tables/";
constexpr std::string_view kTableList = "claims, accounts, locks, idempotency, limits";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding, with `+` as a space (application/x-www-form-urlencoded, which
// browsers' URLSearchParams sends).
bool Decode(std::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      *out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return false;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return false;
      *out += static_cast<char>(high << 4 | low);
      i += 2;
    } else {
      *out += text[i];
    }
  }
  return true;
}

ConsoleRoute Problem(int status, std::string detail) {
  ConsoleRoute route;
  route.kind = ConsoleRoute::Kind::kProblem;
  route.status = status;
  route.detail = std::move(detail);
  return route;
}

ConsoleRoute TableRoute(std::string_view name, std::string_view query) {
  const std::optional<core::ScanTable> table = core::ScanTableByName(name);
  if (!table) return Problem(404, net::ErrUnknownTable(name, kTableList));
  ConsoleRoute route;
  route.kind = ConsoleRoute::Kind::kTable;
  route.table = *table;
  std::vector<std::pair<std::string, std::string>> params;
  if (!ParseQuery(query, &params)) {
    return Problem(400, net::ErrQueryParameter("?", "percent-encoded (a % takes two hex digits)"));
  }
  for (auto& [key, value] : params) {
    if (key == "prefix") {
      if (value.size() > core::kKeyBytesMax) {
        return Problem(400, net::ErrQueryParameter(key, "at most 512 bytes, as a key"));
      }
      route.prefix = std::move(value);
    } else if (key == "cursor") {
      if (!core::ValidScanCursor(*table, value)) {
        return Problem(400, net::ErrQueryParameter(key, "a cursor a page of this table returned"));
      }
      route.cursor = std::move(value);
    } else if (key == "limit") {
      uint64_t limit = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (value.empty() || error != std::errc() || end != value.data() + value.size() ||
          limit < 1 || limit > core::kScanRowsMax) {
        return Problem(400, net::ErrQueryParameter(key, "an integer from 1 to 1000"));
      }
      route.limit = static_cast<size_t>(limit);
    } else {
      return Problem(400, net::ErrQueryParameter(key, "one of prefix, cursor, limit (no other)"));
    }
  }
  return route;
}

json::object TableSize(size_t count, size_t max) {
  return json::object{{"count", count}, {"max", max}};
}

}  // namespace

static_assert(core::kKeyBytesMax == 512 && core::kScanRowsMax == 1000,
              "the query parameter errors name these bounds");

bool ParseQuery(std::string_view query, std::vector<std::pair<std::string, std::string>>* out) {
  out->clear();
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string key;
    std::string value;
    if (!Decode(part.substr(0, eq), &key)) return false;
    if (eq != std::string_view::npos && !Decode(part.substr(eq + 1), &value)) return false;
    out->emplace_back(std::move(key), std::move(value));
  }
  return true;
}

core::ScanRequest ConsoleRoute::Request() const {
  core::ScanRequest request;
  request.table = table;
  request.prefix = prefix;
  request.cursor = cursor;
  request.limit = limit;
  return request;
}

ConsoleRoute FindConsoleRoute(std::string_view target) {
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  if (const ConsoleAsset* asset = FindConsoleAsset(path)) {
    ConsoleRoute route;
    route.kind = ConsoleRoute::Kind::kAsset;
    route.asset = asset;
    return route;
  }
  if (path == "/v1/stats") {
    ConsoleRoute route;
    route.kind = ConsoleRoute::Kind::kStats;
    return route;
  }
  if (path.starts_with(kTablesPath)) return TableRoute(path.substr(kTablesPath.size()), query);
  return ConsoleRoute{};
}

std::string TablePageJson(core::ScanTable table, core::ScanPage page) {
  // A reply without an outcome, so the rows render as replies do: amounts and
  // tokens are strings here too.
  core::Reply reply;
  reply.Add("table", std::string(core::ScanTableName(table)));
  reply.Add("rows", std::move(page.rows));
  reply.Add("cursor", std::move(page.cursor));
  reply.Add("visited", static_cast<int64_t>(page.visited));
  reply.Add("total", static_cast<int64_t>(page.total));
  return ReplyJson(reply);
}

std::string StatsJson(const ConsoleNumbers& numbers) {
  const net::ServerFacts& facts = numbers.facts;
  uint64_t replies = 0;
  for (const auto& row : facts.counters.replies) {
    for (const uint64_t count : row) replies += count;
  }
  json::object tables;
  tables["claims"] = TableSize(facts.tables.claims, facts.limits.claims_max);
  tables["accounts"] = TableSize(facts.tables.accounts, facts.limits.accounts_max);
  tables["locks"] = TableSize(facts.tables.locks, facts.limits.locks_max);
  tables["idempotency"] = TableSize(facts.tables.idem_keys, facts.limits.idem_keys_max);
  tables["limits"] = TableSize(facts.tables.limit_keys, facts.limits.limit_keys_max);
  json::object object;
  object["uptime_s"] = facts.uptime_s;
  object["replies"] = replies;
  object["ops_per_sec"] = facts.ops_per_sec;
  object["commit"] = json::object{{"batches", numbers.commit_batches},
                                  {"total_us", numbers.commit_total_us},
                                  {"max_us", numbers.commit_max_us}};
  object["fsync"] = facts.fsync;
  object["applied_lsn"] = facts.applied_lsn.value;
  object["durable_lsn"] = facts.durable_lsn.value;
  object["storage_failed"] = facts.storage_failed;
  object["connections"] =
      json::object{{"resp", facts.connected_clients}, {"http", numbers.http_connections}};
  object["parked"] = facts.parked_clients;
  object["used_memory_bytes"] = facts.used_memory_bytes;
  object["tables"] = std::move(tables);
  object["console_writes"] = numbers.console_writes;
  return json::serialize(object);
}

// Registered in HttpConnection::Handle: a GET that names a console route.
bool HttpConnection::HandleConsole(uint64_t slot, std::string_view target) {
  ConsoleRoute route = FindConsoleRoute(target);
  switch (route.kind) {
    case ConsoleRoute::Kind::kNone:
      return false;
    case ConsoleRoute::Kind::kAsset:
      Respond(slot, Lsn{0}, 200, route.asset->content_type, route.asset->bytes);
      return true;
    case ConsoleRoute::Kind::kStats:
      Respond(slot, Lsn{0}, 200, "application/json", StatsJson(handler_->Numbers()));
      return true;
    case ConsoleRoute::Kind::kProblem:
      RespondProblem(slot, route.status, net::kCodeErr, route.detail);
      return true;
    case ConsoleRoute::Kind::kTable:
      handler_->SubmitRead(*this, slot, [route = std::move(route)](const core::Engine& engine) {
        return TablePageJson(route.table, engine.Scan(route.Request()));
      });
      return true;
  }
  return false;
}

}  // namespace exactly::http
