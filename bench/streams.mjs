// Open N streaming chat requests at once and count how many complete with
// [DONE]. Usage: node bench/streams.mjs URL N TIMEOUT_MS
import http from "node:http";

const [url, nArg, toArg] = process.argv.slice(2);
const n = Number(nArg || 2000), timeoutMs = Number(toArg || 30000);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const body = JSON.stringify({ model: "bench", stream: true,
  messages: [{ role: "user", content: "stream please" }] });
const t0 = Date.now();
let done = 0, failed = 0;
const errors = {};

function one() {
  return new Promise((resolve) => {
    const req = http.request(url, { method: "POST", agent,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => { text += c; });
        res.on("end", () => {
          if (res.statusCode === 200 && text.includes("data: [DONE]")) done++;
          else { failed++; errors["status " + res.statusCode] = (errors["status " + res.statusCode] || 0) + 1; }
          resolve();
        });
      });
    req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")));
    req.on("error", (e) => { failed++; errors[e.message] = (errors[e.message] || 0) + 1; resolve(); });
    req.end(body);
  });
}

await Promise.all(Array.from({ length: n }, one));
console.log(JSON.stringify({ requests: n, completed: done, failed, errors, seconds: (Date.now() - t0) / 1000 }));
process.exit(done === n ? 0 : 1);
