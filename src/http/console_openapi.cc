// The console's routes in the OpenAPI document and in docs/http.md's generated
// reference (see console_routes.h), from the same tables and limits the routes use.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <string>

#include "core/limits.h"
#include "core/table_scan.h"
#include "http/console_routes.h"

namespace exactly::http {
namespace {

namespace json = boost::json;

json::object Ref(std::string_view target) { return json::object{{"$ref", target}}; }

json::object Query(std::string_view name, std::string_view description, json::object schema) {
  json::object parameter;
  parameter["name"] = name;
  parameter["in"] = "query";
  parameter["required"] = false;
  parameter["description"] = description;
  parameter["schema"] = std::move(schema);
  return parameter;
}

json::object JsonResponse(std::string_view description, json::object schema) {
  json::object response;
  response["description"] = description;
  response["content"] = json::object{{"application/json", json::object{{"schema", schema}}}};
  return response;
}

json::object TablesOperation() {
  json::array names;
  for (const core::ScanTable table : core::kScanTables) {
    names.push_back(json::string(core::ScanTableName(table)));
  }
  json::object table;
  table["name"] = "table";
  table["in"] = "path";
  table["required"] = true;
  table["schema"] = json::object{{"type", "string"}, {"enum", std::move(names)}};
  json::array parameters;
  parameters.push_back(std::move(table));
  parameters.push_back(Query("prefix",
                             "Only keys that start with these bytes; the key itself first.",
                             json::object{{"type", "string"}, {"maxLength", core::kKeyBytesMax}}));
  parameters.push_back(Query("cursor", "The `cursor` of the previous page; absent for the first.",
                             json::object{{"type", "string"}}));
  parameters.push_back(Query("limit", "Rows at most (default 100).",
                             json::object{{"type", "integer"},
                                          {"minimum", 1},
                                          {"maximum", core::kScanRowsMax},
                                          {"default", core::kScanRowsDefault}}));
  json::object row;
  row["type"] = "object";
  row["description"] =
      "`key`, then the table's fields (docs/http.md, Console); amounts and tokens are strings.";
  row["required"] = json::array{"key"};
  row["properties"] = json::object{{"key", json::object{{"type", "string"}}}};
  json::object page;
  page["type"] = "object";
  page["required"] = json::array{"table", "rows", "cursor", "visited", "total"};
  page["properties"] = json::object{
      {"table", json::object{{"type", "string"}}},
      {"rows", json::object{{"type", "array"}, {"items", std::move(row)}}},
      {"cursor", json::object{{"type", "string"},
                              {"description", "Where the next page starts; empty at the end."}}},
      {"visited", json::object{{"type", "integer"}}},
      {"total", json::object{{"type", "integer"}}},
  };
  json::object responses;
  responses["200"] =
      JsonResponse("A page, read in order with the commands, once durable.", std::move(page));
  for (const char* status : {"400", "401", "404", "503"}) {
    responses[status] = Ref("#/components/responses/Problem");
  }
  json::object operation;
  operation["operationId"] = "tables";
  operation["summary"] = "A page of one table's records, by key prefix (read-only).";
  operation["parameters"] = std::move(parameters);
  operation["responses"] = std::move(responses);
  return operation;
}

json::object StatsOperation() {
  json::object responses;
  responses["200"] = JsonResponse(
      "Engine replies so far, commit latency totals, table sizes and maxima, connections.",
      json::object{{"type", "object"}});
  responses["401"] = Ref("#/components/responses/Problem");
  json::object operation;
  operation["operationId"] = "stats";
  operation["summary"] = "The console's live numbers.";
  operation["responses"] = std::move(responses);
  return operation;
}

json::object PageOperation() {
  json::object ok;
  ok["description"] = "The console's page (it loads /console/console.js and console.css).";
  ok["content"] =
      json::object{{"text/html", json::object{{"schema", json::object{{"type", "string"}}}}}};
  json::object operation;
  operation["operationId"] = "console";
  operation["summary"] = "The web console (read-only unless --console-writes).";
  operation["responses"] = json::object{{"200", std::move(ok)}};
  return operation;
}

}  // namespace

void AddConsolePaths(boost::json::object* paths) {
  (*paths)["/"] = json::object{{"get", PageOperation()}};
  (*paths)["/v1/stats"] = json::object{{"get", StatsOperation()}};
  (*paths)["/v1/tables/{table}"] = json::object{{"get", TablesOperation()}};
}

std::string ConsoleReferenceMarkdown() {
  std::string text = "### GET /v1/tables/{table}\n\n";
  text += "A page of one table's records, by key prefix (read-only). `table`: ";
  for (const core::ScanTable table : core::kScanTables) {
    text += (table == core::kScanTables[0] ? "`" : ", `") +
            std::string(core::ScanTableName(table)) + "`";
  }
  text += ".\n\n| query parameter | type | default | bounds |\n| --- | --- | --- | --- |\n";
  text += "| `prefix` | string | none (every key) | 0.." + std::to_string(core::kKeyBytesMax) +
          " bytes |\n";
  text +=
      "| `cursor` | string | none (the first page) | a `cursor` a page of this table "
      "returned |\n";
  text += "| `limit` | integer | " + std::to_string(core::kScanRowsDefault) + " | 1.." +
          std::to_string(core::kScanRowsMax) + " |\n\n";
  text += "A page looks at " + std::to_string(core::kScanVisitMax) +
          " records at most.\n\n### GET /v1/stats\n\nThe console's live numbers.\n\n";
  return text;
}

}  // namespace exactly::http
