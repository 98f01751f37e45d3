// The HTTP API described from the routes (http/routes.h), so the description cannot
// drift from what the server accepts: an OpenAPI 3.1 document (GET
// /v1/openapi.json) and the reference part of docs/http.md (`exactly http-docs`,
// checked by tests/http/openapi_test.cc). Pure functions; thread-safe.
#pragma once

#include <string>

namespace exactly::http {

// The OpenAPI 3.1 document, as JSON text.
std::string OpenApiJson();

// The Markdown reference of every route: path, members with their types and the
// RESP syntax each maps to.
std::string ReferenceMarkdown();

}  // namespace exactly::http
