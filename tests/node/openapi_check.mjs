// Validate the server's OpenAPI document with a real validator and probe
// every documented operation against the running server.
//
//   node openapi_check.mjs BASE_URL [EXPECTED_VERSION] [API_KEY]
//   node openapi_check.mjs --file PATH      (step 2 only, on a file)
//
// 1. GET BASE_URL/openapi.json (no key): 200, application/json.
// 2. @apidevtools/swagger-parser validates it (OpenAPI 3.1 schema, every
//    $ref resolved) and info.version is EXPECTED_VERSION when given.
// 3. Every path + method of the document is sent to the server, with
//    API_KEY when given: {id} is a document uploaded first (under
//    /v1/conversations/, a conversation a /chat request started; under
//    /admin/keys/, a key POST /admin/keys created, its 201 checked), a JSON
//    body is the operation's example or {}; the DELETEs go last, so the
//    other operations find what they read. None may get the router's 404
//    ("Unknown request URL") or a 405, every status must be one the
//    operation documents, and every JSON body must match the documented
//    schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it) — the
//    upload's 201, the /chat that starts the conversation, and an
//    asynchronous upload's 202 (Location: its status, polled until it is
//    indexed) too; a streamed chat completion must be text/event-stream
//    whose events match ChatCompletionChunk, ending with [DONE].
// Prints one line per failure and exits 1 if there was any.
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";

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
  let api = null;
  try {
    // validate() dereferences in place: give it a copy, keep doc as served
    api = await SwaggerParser.validate(structuredClone(doc));
    console.log(`  ok: swagger-parser validated ${api.info.title} ${api.info.version} (OpenAPI ${api.openapi})`);
  } catch (e) {
    fail(`swagger-parser: ${e.message}`);
  }
  if (!/^3\.1\./.test(doc.openapi || "")) fail(`openapi is ${doc.openapi}, want 3.1.x`);
  return api;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });

// The response against the operation's documented ones: status, and the
// JSON body against its schema. Returns the parsed body (or null).
async function checkAnswer(what, op, r, isHead) {
  const text = isHead ? "" : await r.text();
  const doc = op.responses?.[String(r.status)] || op.responses?.default;
  if (!doc) {
    fail(`${what}: status ${r.status} is not among the documented ${Object.keys(op.responses || {}).join(", ")}: ${text.slice(0, 200)}`);
    return null;
  }
  const ctype = (r.headers.get("content-type") || "").split(";")[0].trim();
  if (isHead || ctype !== "application/json" || !text) return null;
  const schema = doc.content?.["application/json"]?.schema;
  if (!schema) { fail(`${what}: ${r.status} sent JSON, the document has no JSON body for it`); return null; }
  let body;
  try { body = JSON.parse(text); } catch (e) { fail(`${what}: ${r.status} body is not JSON: ${e.message}`); return null; }
  if (!ajv.validate(schema, body))
    fail(`${what}: ${r.status} body does not match the documented schema: ${ajv.errorsText(ajv.errors)}: ${text.slice(0, 300)}`);
  return body;
}

async function send(method, url, headers, body) {
  return fetch(url, { method, headers, body, signal: AbortSignal.timeout(30000) });
}

// A conversation for /v1/conversations/{id}: a /chat answer's
// conversation_id (the config stores them), its 200 checked too.
async function startConversation(api, auth) {
  const what = "POST /chat (a conversation for /v1/conversations/{id})";
  const r = await send("POST", `${base}/chat`, { ...auth, "Content-Type": "application/json" },
                       JSON.stringify({ message: "What does the probe document say?" }));
  const op = api.paths["/chat"]?.post;
  const body = op ? await checkAnswer(what, op, r, false) : null;
  if (!op) fail(`${what}: POST /chat is not documented`);
  if (r.status !== 200 || typeof body?.conversation_id !== "string" || !body.conversation_id) {
    fail(`${what}: status ${r.status}, want 200 with a conversation_id`);
    return "openapi-probe-conversation";
  }
  return body.conversation_id;
}

// A stored API key for /admin/keys/{id}: created with the documented
// example (another name), its 201 checked; rotated, then revoked (DELETEs
// go last) by the probe.
async function createKey(api, auth) {
  const what = "POST /admin/keys (a key for /admin/keys/{id})";
  const op = api.paths["/admin/keys"]?.post;
  if (!op) { fail(`${what}: POST /admin/keys is not documented`); return "openapi-probe-key"; }
  const example = op.requestBody?.content?.["application/json"]?.example ?? {};
  const r = await send("POST", `${base}/admin/keys`, { ...auth, "Content-Type": "application/json" },
                       JSON.stringify({ ...example, name: "openapi-probe-key" }));
  const body = await checkAnswer(what, op, r, false);
  if (r.status !== 201 || typeof body?.id !== "string" || typeof body?.secret !== "string") {
    fail(`${what}: status ${r.status}, want 201 with an id and a secret`);
    return "openapi-probe-key";
  }
  return body.id;
}

// An asynchronous upload: 202 as documented, Location its status, which is
// polled (each answer checked) until it is no longer pending: indexed.
async function checkAsyncUpload(api, auth) {
  const what = "POST /documents?async=1";
  const r = await send("POST", `${base}/documents?filename=openapi-async.md&async=1`,
                       { ...auth, "Content-Type": "text/markdown" },
                       "# Async probe\n\nUploaded with ?async=1 by the OpenAPI check.\n");
  const body = await checkAnswer(what, api.paths["/documents"].post, r, false);
  const loc = r.headers.get("location");
  if (r.status !== 202) { fail(`${what}: status ${r.status}, want 202`); return; }
  if (!body?.id) { fail(`${what}: 202 without a JSON status naming the document`); return; }
  if (loc !== `/documents/${body.id}/status`) {
    fail(`${what}: Location ${loc}, want /documents/${body.id}/status`);
    return;
  }
  console.log(`  ok: ${what} -> 202, as documented, Location ${loc}`);
  const op = api.paths["/documents/{id}/status"]?.get;
  if (!op) { fail(`${what}: GET /documents/{id}/status, its Location, is not documented`); return; }
  const until = Date.now() + 20000;
  let st = body;
  while (st?.state === "pending" && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 100));
    const s = await send("GET", base + loc, auth);
    st = await checkAnswer(`GET ${loc} (polled)`, op, s, false);
  }
  if (st?.state !== "indexed") fail(`${what}: its status ended ${JSON.stringify(st)?.slice(0, 300)}, want state indexed`);
  else console.log(`  ok: ${what}: its status went from pending to indexed, each answer as documented`);
}

async function probeAll(api) {
  const methods = ["get", "head", "post", "put", "patch", "delete", "options", "trace"];
  const auth = key ? { Authorization: `Bearer ${key}` } : {};
  // a real document for {id}, uploaded raw; its 201 is checked too
  let id = "openapi-probe-1";
  const up = await send("POST", `${base}/documents?filename=openapi-probe.md`,
                        { ...auth, "Content-Type": "text/markdown" },
                        "# Probe\n\nA document the OpenAPI check uploads and deletes.\n");
  const doc = await checkAnswer("POST /documents (raw upload)", api.paths["/documents"].post, up, false);
  if (up.status !== 201 || !doc?.id) fail(`POST /documents (raw upload): status ${up.status}, want 201 with an id`);
  else id = doc.id;
  const conv = await startConversation(api, auth);
  const keyId = await createKey(api, auth);
  await checkAsyncUpload(api, auth);
  // every operation, the DELETEs last: what they remove stays for the rest
  const ops = [];
  for (const [path, item] of Object.entries(api.paths || {}))
    for (const m of methods) if (item[m]) ops.push([path, m, item[m]]);
  ops.sort((a, b) => (a[1] === "delete") - (b[1] === "delete"));
  let n = 0;
  for (const [path, m, op] of ops) {
    n++;
    const what = `${m.toUpperCase()} ${path}`;
    const pid = path.startsWith("/v1/conversations/") ? encodeURIComponent(conv)
              : path.startsWith("/admin/keys/") ? keyId : id;
    const url = base + path.replace(/\{[^}]+\}/g, pid);
    const headers = { ...auth };
    let body;
    if (m === "post") {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(op.requestBody?.content?.["application/json"]?.example ?? {});
    }
    try {
      const r = await send(m.toUpperCase(), url, headers, body);
      if (r.status === 405 || r.status === 404 && m !== "head") {
        const t = await r.clone().text();
        if (r.status === 405 || t.includes("Unknown request URL")) {
          fail(`${what} is documented but not served: ${r.status} ${t.slice(0, 200)}`);
          continue;
        }
      }
      const before = failures.length;
      await checkAnswer(what, op, r, m === "head");
      if (failures.length === before) console.log(`  ok: ${what} -> ${r.status}, as documented`);
    } catch (e) {
      fail(`${what}: ${e.message}`);
    }
  }
  console.log(`  probed ${n} documented operations`);
  await checkStream(api, auth);
}

// A streamed chat completion: text/event-stream whose data events are
// ChatCompletionChunk objects, ending with [DONE].
async function checkStream(api, auth) {
  const what = "POST /v1/chat/completions (stream)";
  const r = await send("POST", `${base}/v1/chat/completions`, { ...auth, "Content-Type": "application/json" },
                       JSON.stringify({ stream: true, messages: [{ role: "user", content: "What is BM25?" }] }));
  const ctype = r.headers.get("content-type") || "";
  const text = await r.text();
  if (r.status !== 200 || !ctype.startsWith("text/event-stream")) {
    fail(`${what}: ${r.status} ${ctype}, want 200 text/event-stream: ${text.slice(0, 200)}`);
    return;
  }
  if (!api.paths["/v1/chat/completions"].post.responses["200"].content["text/event-stream"])
    fail(`${what}: the document has no text/event-stream answer`);
  const schema = api.components.schemas.ChatCompletionChunk;
  const events = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
  let bad = 0;
  for (const e of events.slice(0, -1))
    if (!ajv.validate(schema, JSON.parse(e))) {
      bad++;
      fail(`${what}: event does not match ChatCompletionChunk: ${ajv.errorsText(ajv.errors)}: ${e.slice(0, 200)}`);
    }
  if (events.at(-1) !== "[DONE]") fail(`${what}: the stream does not end with data: [DONE]`);
  else if (!bad) console.log(`  ok: ${what} -> ${events.length - 1} ChatCompletionChunk events and [DONE]`);
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
  const api = await validate(doc);
  if (wantVersion && doc.info?.version !== wantVersion)
    fail(`info.version is ${doc.info?.version}, want the server's ${wantVersion}`);
  if (api) await probeAll(api);
}
done();
