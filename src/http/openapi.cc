// OpenAPI and Markdown from the routes (see openapi.h).
#include "http/openapi.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <string_view>

#include "base/version.h"
#include "core/limits.h"
#include "http/console_routes.h"
#include "http/json_reply.h"
#include "http/routes.h"

namespace exactly::http {
namespace {

namespace json = boost::json;

constexpr int kErrorStatuses[] = {400, 401, 403, 409, 422, 503};

json::object MemberSchema(const Member& member) {
  json::object schema;
  switch (member.type) {
    case MemberType::kString:
      schema["type"] = "string";
      break;
    case MemberType::kInteger: {
      // A number, or a string for what a JSON number cannot hold exactly (and for
      // the words an integer option also takes, such as MIN's -inf).
      schema["type"] = json::array{"integer", "string"};
      std::string description = "integer (" + member.value_name + "); a string of digits";
      if (!member.words.empty()) {
        description += ", or ";
        for (size_t i = 0; i < member.words.size(); ++i) {
          description += (i > 0 ? ", " : "") + member.words[i];
        }
      }
      schema["description"] = description + ".";
      break;
    }
    case MemberType::kWord: {
      schema["type"] = "string";
      json::array words;
      for (const std::string& word : member.words) words.push_back(json::string(word));
      schema["enum"] = std::move(words);
      break;
    }
    case MemberType::kFlag:
      schema["type"] = "boolean";
      break;
  }
  return schema;
}

// The body of one alternative: an object of its members, the required ones listed.
json::object AlternativeSchema(const std::vector<Option>& options) {
  json::object properties;
  json::array required;
  for (const Option& option : options) {
    for (const Member& member : option.members) {
      properties[member.name] = MemberSchema(member);
      if (option.required) required.push_back(json::string(member.name));
    }
  }
  json::object schema;
  schema["type"] = "object";
  schema["properties"] = std::move(properties);
  if (!required.empty()) schema["required"] = std::move(required);
  schema["additionalProperties"] = false;
  return schema;
}

json::object RequestSchema(const Route& route) {
  if (route.alternatives.size() == 1) return AlternativeSchema(route.alternatives[0]);
  json::array one_of;
  for (const auto& alternative : route.alternatives)
    one_of.push_back(AlternativeSchema(alternative));
  json::object schema;
  schema["oneOf"] = std::move(one_of);
  return schema;
}

json::object Ref(std::string_view target) {
  json::object ref;
  ref["$ref"] = target;
  return ref;
}

json::object JsonContent(json::object schema) {
  json::object media;
  media["schema"] = std::move(schema);
  json::object content;
  content["application/json"] = std::move(media);
  return content;
}

json::object Components() {
  json::object string_integer;
  string_integer["type"] = "string";
  string_integer["pattern"] = "^-?[0-9]+$";
  string_integer["description"] =
      "A 64-bit integer as decimal digits: it can pass 2^53, past which a JSON number "
      "loses digits in most clients.";
  json::object reply_properties;
  json::object result;
  result["type"] = "string";
  result["description"] = "The outcome's word (docs/commands.md), always the first member.";
  reply_properties["result"] = std::move(result);
  for (std::string_view field : StringIntegerFields()) {
    reply_properties[field] = Ref("#/components/schemas/StringInteger");
  }
  json::object reply;
  reply["type"] = "object";
  reply["description"] =
      "The same outcome and fields as the RESP reply, in its order. Times are unix ms "
      "(-1 for none); min and max may also be -inf or +inf; lists (CLAIMLOG, HISTORY) "
      "are arrays of objects.";
  reply["required"] = json::array{"result"};
  reply["properties"] = std::move(reply_properties);
  reply["additionalProperties"] = true;

  json::object problem_properties;
  problem_properties["type"] = json::object{{"type", "string"}};
  problem_properties["title"] = json::object{{"type", "string"}};
  problem_properties["status"] = json::object{{"type", "integer"}};
  problem_properties["detail"] =
      json::object{{"type", "string"}, {"description", "The RESP error text after its code."}};
  problem_properties["code"] = json::object{
      {"type", "string"}, {"description", "The RESP error code: ERR, NOAUTH, IOERR, OOM, ..."}};
  json::object problem;
  problem["type"] = "object";
  problem["description"] = "RFC 9457 problem details; nothing was changed.";
  problem["required"] = json::array{"type", "title", "status", "detail", "code"};
  problem["properties"] = std::move(problem_properties);

  json::object schemas;
  schemas["StringInteger"] = std::move(string_integer);
  schemas["Reply"] = std::move(reply);
  schemas["Problem"] = std::move(problem);

  json::object problem_media;
  problem_media["schema"] = Ref("#/components/schemas/Problem");
  json::object problem_response;
  problem_response["description"] = "The request was refused and changed nothing.";
  problem_response["content"] = json::object{{"application/problem+json", problem_media}};
  json::object responses;
  responses["Problem"] = std::move(problem_response);

  json::object idempotency_key;
  idempotency_key["name"] = "Idempotency-Key";
  idempotency_key["in"] = "header";
  idempotency_key["required"] = false;
  idempotency_key["description"] =
      "Runs the request once per key (draft-ietf-httpapi-idempotency-key-header): a repeat "
      "with the same body answers the stored response, a repeat while the first runs 409, "
      "one with another body 422.";
  idempotency_key["schema"] =
      json::object{{"type", "string"}, {"minLength", 1}, {"maxLength", 255}};
  json::object parameters;
  parameters["IdempotencyKey"] = std::move(idempotency_key);

  json::object components;
  components["schemas"] = std::move(schemas);
  components["responses"] = std::move(responses);
  components["parameters"] = std::move(parameters);
  // docs/acl.md: Basic with an ACL user's password, Bearer with one of its tokens.
  json::object security_schemes;
  security_schemes["basic"] = json::object{{"type", "http"}, {"scheme", "basic"}};
  security_schemes["bearer"] = json::object{{"type", "http"}, {"scheme", "bearer"}};
  components["securitySchemes"] = std::move(security_schemes);
  return components;
}

json::object Operation(const Route& route) {
  std::string id = route.command;
  for (char& c : id) {
    if (c == ' ') c = '_';
  }
  json::object ok;
  ok["description"] = "The outcome, durable before it is sent.";
  ok["content"] = JsonContent(Ref("#/components/schemas/Reply"));
  json::object responses;
  responses["200"] = std::move(ok);
  for (int status : kErrorStatuses) {
    responses[std::to_string(status)] = Ref("#/components/responses/Problem");
  }
  json::object body;
  body["required"] = true;
  body["content"] = JsonContent(RequestSchema(route));
  json::object operation;
  operation["operationId"] = id;
  operation["summary"] = route.spec->summary;
  operation["description"] = "RESP: `" + std::string(route.spec->syntax) + "`";
  operation["parameters"] = json::array{Ref("#/components/parameters/IdempotencyKey")};
  operation["requestBody"] = std::move(body);
  operation["responses"] = std::move(responses);
  return operation;
}

// A route's body schema with the `command` member that names it in a group.
json::object GroupElementSchema(const Route& route) {
  json::object schema = RequestSchema(route);
  const std::string name = route.path.substr(std::string_view("/v1/").size());
  auto add = [&name](json::object& alternative) {
    alternative["properties"].as_object()["command"] = json::object{{"const", name}};
    if (!alternative.contains("required")) alternative["required"] = json::array{};
    alternative["required"].as_array().push_back("command");
  };
  if (schema.contains("oneOf")) {
    for (json::value& alternative : schema["oneOf"].as_array()) add(alternative.as_object());
  } else {
    add(schema);
  }
  return schema;
}

// POST /v1/multi: MULTI ... EXEC as one request.
json::object GroupOperation() {
  json::array items;
  for (const Route& route : AllRoutes()) items.push_back(GroupElementSchema(route));
  json::object commands;
  commands["type"] = "array";
  commands["maxItems"] = core::kGroupCommandsMax;
  commands["items"] = json::object{{"oneOf", std::move(items)}};
  json::object body_schema;
  body_schema["type"] = "object";
  body_schema["properties"] = json::object{{"commands", std::move(commands)}};
  body_schema["required"] = json::array{"commands"};
  body_schema["additionalProperties"] = false;
  json::object body;
  body["required"] = true;
  body["content"] = JsonContent(std::move(body_schema));

  json::object reply_properties;
  reply_properties["result"] =
      json::object{{"type", "string"}, {"enum", json::array{"executed", "rolled_back"}}};
  reply_properties["results"] =
      json::object{{"type", "array"}, {"items", Ref("#/components/schemas/Reply")}};
  json::object reply;
  reply["type"] = "object";
  reply["required"] = json::array{"result", "results"};
  reply["properties"] = std::move(reply_properties);
  json::object ok;
  ok["description"] =
      "One result per command, in order, as EXEC answers: all applied, or rolled back at "
      "the first refusal (that element has failed: 1; earlier ones rolled_back, later "
      "ones skipped).";
  ok["content"] = JsonContent(std::move(reply));
  json::object responses;
  responses["200"] = std::move(ok);
  for (int status : kErrorStatuses) {
    responses[std::to_string(status)] = Ref("#/components/responses/Problem");
  }
  json::object operation;
  operation["operationId"] = "multi";
  operation["summary"] = "Apply commands all or none (MULTI ... EXEC), in one request.";
  operation["parameters"] = json::array{Ref("#/components/parameters/IdempotencyKey")};
  operation["requestBody"] = std::move(body);
  operation["responses"] = std::move(responses);
  return operation;
}

json::object GetOperation(std::string_view id, std::string_view summary,
                          std::string_view media_type) {
  json::object media;
  media["schema"] = json::object{{"type", media_type == "application/json" ? "object" : "string"}};
  json::object ok;
  ok["description"] = summary;
  ok["content"] = json::object{{media_type, media}};
  json::object operation;
  operation["operationId"] = id;
  operation["summary"] = summary;
  operation["responses"] = json::object{{"200", ok}};
  return operation;
}

std::string_view TypeText(const Member& member) {
  switch (member.type) {
    case MemberType::kString:
      return "string";
    case MemberType::kInteger:
      return "integer or string";
    case MemberType::kWord:
      return "string (one of the words)";
    case MemberType::kFlag:
      return "boolean";
  }
  return "";
}

}  // namespace

std::string OpenApiJson() {
  json::object paths;
  for (const Route& route : AllRoutes())
    paths[route.path] = json::object{{"post", Operation(route)}};
  paths[kGroupPath] = json::object{{"post", GroupOperation()}};
  json::object openapi = GetOperation("openapi", "This document.", "application/json");
  openapi["security"] = json::array{json::object{}};  // answered without credentials
  paths["/v1/openapi.json"] = json::object{{"get", std::move(openapi)}};
  paths["/metrics"] = json::object{
      {"get",
       GetOperation("metrics", "Counters and gauges in the Prometheus text format (version 0.0.4).",
                    "text/plain")}};
  AddConsolePaths(&paths);
  json::object info;
  info["title"] = "exactly";
  info["version"] = base::kVersion;
  info["description"] =
      "exactly over HTTP/1.1 and JSON: the same commands, outcomes and durability as RESP "
      "(docs/http.md).";
  json::object document;
  document["openapi"] = "3.1.0";
  document["info"] = std::move(info);
  document["paths"] = std::move(paths);
  document["components"] = Components();
  // None needed while the default user needs no password (docs/acl.md).
  document["security"] = json::array{json::object{}, json::object{{"basic", json::array{}}},
                                     json::object{{"bearer", json::array{}}}};
  return json::serialize(document);
}

std::string ReferenceMarkdown() {
  std::string text;
  for (const Route& route : AllRoutes()) {
    text += "### POST " + route.path + "\n\n";
    text += std::string(route.spec->summary) + "\n\n";
    text += "RESP: `" + std::string(route.spec->syntax) + "`\n\n";
    for (size_t a = 0; a < route.alternatives.size(); ++a) {
      if (route.alternatives.size() > 1) {
        text += "Alternative " + std::to_string(a + 1) + ":\n\n";
      }
      text += "| member | type | required | RESP |\n| --- | --- | --- | --- |\n";
      for (const Option& option : route.alternatives[a]) {
        for (const Member& member : option.members) {
          std::string resp = option.token.empty() ? member.value_name : option.token;
          if (member.type != MemberType::kFlag && member.type != MemberType::kWord &&
              !option.token.empty()) {
            resp += " " + member.value_name;
          }
          std::string type(TypeText(member));
          if (!member.words.empty()) {
            type += ": ";
            for (size_t i = 0; i < member.words.size(); ++i) {
              type += (i > 0 ? ", " : "") + ("`" + member.words[i] + "`");
            }
          }
          text += "| `" + member.name + "` | " + type + " | " + (option.required ? "yes" : "no") +
                  " | `" + resp + "` |\n";
        }
      }
      text += "\n";
    }
  }
  return text + ConsoleReferenceMarkdown();
}

}  // namespace exactly::http
