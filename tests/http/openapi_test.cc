// The OpenAPI document and docs/http.md come from the routes: every route is in
// both, each operation's request schema lists exactly the members the route maps,
// every $ref resolves, and docs/http.md holds today's generated reference.
#include "http/openapi.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "http/json_reply.h"
#include "http/routes.h"

namespace exactly::http {
namespace {

namespace json = boost::json;

std::filesystem::path SourceDir() {
  if (const char* source_dir = std::getenv("EXACTLY_SOURCE_DIR")) return source_dir;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

// Follows "#/a/b" in `document`.
const json::value* Resolve(const json::value& document, std::string_view ref) {
  if (!ref.starts_with("#/")) return nullptr;
  const json::value* at = &document;
  std::string_view rest = ref.substr(2);
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    const std::string_view name = rest.substr(0, slash);
    if (!at->is_object() || !at->as_object().contains(name)) return nullptr;
    at = &at->as_object().at(name);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return at;
}

// Every "$ref" under `value`.
void CollectRefs(const json::value& value, std::set<std::string>* refs) {
  if (value.is_object()) {
    for (const auto& [key, member] : value.as_object()) {
      if (key == "$ref" && member.is_string()) refs->insert(std::string(member.as_string()));
      CollectRefs(member, refs);
    }
  } else if (value.is_array()) {
    for (const json::value& item : value.as_array()) CollectRefs(item, refs);
  }
}

TEST(OpenApiTest, DocumentIsOpenApi31WithEveryRoute) {
  const json::value document = json::parse(OpenApiJson());
  EXPECT_EQ(document.at("openapi").as_string(), "3.1.0");
  EXPECT_TRUE(document.at("info").as_object().contains("title"));
  EXPECT_TRUE(document.at("info").as_object().contains("version"));
  const json::object& paths = document.at("paths").as_object();
  std::set<std::string> operation_ids;
  for (const Route& route : AllRoutes()) {
    ASSERT_TRUE(paths.contains(route.path)) << route.path;
    const json::object& post = paths.at(route.path).at("post").as_object();
    EXPECT_TRUE(operation_ids.insert(std::string(post.at("operationId").as_string())).second);
    EXPECT_TRUE(post.at("responses").as_object().contains("200"));
    EXPECT_TRUE(post.at("responses").as_object().contains("400"));
    const json::value& schema =
        post.at("requestBody").at("content").at("application/json").at("schema");
    // Every member the route maps is in the schema, and nothing else.
    std::set<std::string> expected;
    for (const auto& alternative : route.alternatives) {
      for (const Option& option : alternative) {
        for (const Member& member : option.members) expected.insert(member.name);
      }
    }
    std::set<std::string> documented;
    auto add = [&documented](const json::value& object_schema) {
      EXPECT_FALSE(object_schema.at("additionalProperties").as_bool());
      for (const auto& [name, property] : object_schema.at("properties").as_object()) {
        documented.insert(std::string(name));
      }
    };
    if (schema.as_object().contains("oneOf")) {
      for (const json::value& alternative : schema.at("oneOf").as_array()) add(alternative);
    } else {
      add(schema);
    }
    EXPECT_EQ(documented, expected) << route.path;
  }
  EXPECT_TRUE(paths.contains("/v1/openapi.json"));
  EXPECT_TRUE(paths.contains("/metrics"));
  // A group takes every route's body, each named by its `command`.
  const json::value& items = paths.at("/v1/multi")
                                 .at("post")
                                 .at("requestBody")
                                 .at("content")
                                 .at("application/json")
                                 .at("schema")
                                 .at("properties")
                                 .at("commands")
                                 .at("items")
                                 .at("oneOf");
  EXPECT_EQ(items.as_array().size(), AllRoutes().size());
}

TEST(OpenApiTest, EveryRefResolves) {
  const json::value document = json::parse(OpenApiJson());
  std::set<std::string> refs;
  CollectRefs(document, &refs);
  EXPECT_FALSE(refs.empty());
  for (const std::string& ref : refs) EXPECT_NE(Resolve(document, ref), nullptr) << ref;
}

TEST(OpenApiTest, WideIntegersAreDocumentedAsStrings) {
  const json::value document = json::parse(OpenApiJson());
  const json::object& reply = document.at("components").at("schemas").at("Reply").as_object();
  for (std::string_view field : StringIntegerFields()) {
    EXPECT_EQ(reply.at("properties").at(field).at("$ref").as_string(),
              "#/components/schemas/StringInteger")
        << field;
  }
  // A request's amount takes a string too, for values past 2^53.
  const json::value& amount = document.at("paths")
                                  .at("/v1/transfer")
                                  .at("post")
                                  .at("requestBody")
                                  .at("content")
                                  .at("application/json")
                                  .at("schema")
                                  .at("properties")
                                  .at("amount");
  EXPECT_EQ(amount.at("type"), json::parse(R"(["integer","string"])"));
}

TEST(OpenApiTest, DocsHoldTheGeneratedReference) {
  std::ifstream file(SourceDir() / "docs" / "http.md");
  std::ostringstream text;
  text << file.rdbuf();
  const std::string doc = text.str();
  ASSERT_FALSE(doc.empty()) << "docs/http.md is missing";
  EXPECT_NE(doc.find(ReferenceMarkdown()), std::string::npos)
      << "docs/http.md's reference is not today's: regenerate it with "
         "`build/exactly http-docs` (between the markers in the file)";
}

}  // namespace
}  // namespace exactly::http
