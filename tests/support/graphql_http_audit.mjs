// Runs graphql-http's server audits (the GraphQL-over-HTTP spec's reference checks) against a
// URL and prints their results as one JSON array.
// Usage: node graphql_http_audit.mjs <directory holding node_modules/graphql-http> <url>
import { createRequire } from "node:module";
import path from "node:path";

const [toolsDir, url] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(toolsDir), "package.json"));
const { serverAudits } = require("graphql-http");

const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.reason ?? null,
  });
}
console.log(JSON.stringify(results));
