// Validate the server's OpenAPI document with a real validator and probe
// every documented operation against the running server.
//
//   node openapi_check.mjs BASE_URL [EXPECTED_VERSION] [API_KEY]
//   node openapi_check.mjs --file PATH      (step 2 only, on a file)
//
// 1. GET BASE_URL/openapi.json (no key): 200, application/json.
// 2. @apidevtools/swagger-parser validates it (OpenAPI 3.1 schema, every
//    $ref resolved) and info.version is EXPECTED_VERSION when given.
// 3. Every path + method of the document is sent to the server ({id} filled
//    with a well-formed id, JSON bodies empty objects, with API_KEY when
//    given): none may get the router's 404 ("Unknown request URL") or 405.
// Prints one line per failure and exits 1 if there was any.
import SwaggerParser from "@apidevtools/swagger-parser";

const [base, wantVersion, key] = process.argv.slice(2);
if (!base) {
  console.error("usage: node openapi_check.mjs BASE_URL [EXPECTED_VERSION] [API_KEY]");
  process.exit(2);
}
const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`  FAIL: ${msg}`); };
const done = () => {
  console.log(failures.length ? `${failures.length} failure(s)` : "openapi check passed");
  process.exit(failures.length ? 1 : 0);
};

async function validate(doc) {
  try {
    // validate() dereferences in place: give it a copy, keep doc as served
    const api = await SwaggerParser.validate(structuredClone(doc));
    console.log(`  ok: swagger-parser validated ${api.info.title} ${api.info.version} (OpenAPI ${api.openapi})`);
  } catch (e) {
    fail(`swagger-parser: ${e.message}`);
  }
  if (!/^3\.1\./.test(doc.openapi || "")) fail(`openapi is ${doc.openapi}, want 3.1.x`);
}

if (base === "--file") {
  const { readFileSync } = await import("node:fs");
  await validate(JSON.parse(readFileSync(wantVersion, "utf8")));
  done();
}

const res = await fetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(10000) });
const ctype = res.headers.get("content-type") || "";
if (res.status !== 200) fail(`GET /openapi.json without a key: status ${res.status}, want 200`);
if (!ctype.startsWith("application/json")) fail(`GET /openapi.json: Content-Type ${ctype}, want application/json`);
const text = await res.text();
let doc;
try { doc = JSON.parse(text); } catch (e) { fail(`/openapi.json is not JSON: ${e.message}`); }

if (doc) {
  await validate(doc);
  if (wantVersion && doc.info?.version !== wantVersion)
    fail(`info.version is ${doc.info?.version}, want the server's ${wantVersion}`);
  await probeAll(doc);
}

async function probeAll(doc) {
  const methods = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];
  let n = 0;
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const m of methods) {
      if (!item[m]) continue;
      n++;
      const url = base + path.replace(/\{[^}]+\}/g, "openapi-probe-1");
      const headers = key ? { Authorization: `Bearer ${key}` } : {};
      let body;
      if (m === "post") { headers["Content-Type"] = "application/json"; body = "{}"; }
      try {
        const r = await fetch(url, { method: m.toUpperCase(), headers, body,
                                     signal: AbortSignal.timeout(10000) });
        const t = m === "head" ? "" : await r.text();
        if (r.status === 405 || (r.status === 404 && t.includes("Unknown request URL")))
          fail(`${m.toUpperCase()} ${path} is documented but not served: ${r.status} ${t.slice(0, 200)}`);
      } catch (e) {
        fail(`${m.toUpperCase()} ${path}: ${e.message}`);
      }
    }
  }
  console.log(`  probed ${n} documented operations`);
}

done();
