// Validates an OpenAPI document with @apidevtools/swagger-parser (schema and
// semantics: OpenAPI 3.1's JSON Schema, $refs, unique operationIds, ...).
// Usage: node validate.mjs <document.json>. Exits 0 when valid, 1 with the
// validator's message otherwise.
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";

const document = JSON.parse(readFileSync(process.argv[2], "utf8"));
try {
  const api = await SwaggerParser.validate(document);
  console.log(`valid: OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
} catch (error) {
  console.error(`invalid: ${error.message}`);
  process.exit(1);
}
