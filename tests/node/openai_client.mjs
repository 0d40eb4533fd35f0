// The real `openai` npm client against ragkernel's OpenAI-compatible API.
// Prints one line per check and exits non-zero if any failed.
//
//   RK_URL=http://127.0.0.1:PORT [RK_MODEL=echo-model] [RK_EXPECT=text] node openai_client.mjs
//
// RK_EXPECT, when set, is the exact answer the plain completion must give.
// RK_MODE=stream-error runs only the check for a server whose answers fail
// part-way (the stream must raise an APIError after some text, not end
// quietly).
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const base = process.env.RK_URL;
if (!base) {
  console.error('RK_URL is not set');
  process.exit(2);
}
const model = process.env.RK_MODEL || 'echo-model';
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'x', maxRetries: 0, timeout: 20000 });
const question = 'hello from the openai sdk';
const messages = [
  { role: 'system', content: 'answer briefly' },
  { role: 'user', content: question },
];

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`  ok: ${name}`);
  } catch (e) {
    failed++;
    console.log(`  FAIL: ${name}: ${(e && e.stack) || e}`);
  }
}

// Collect a stream: the concatenated content, the finish reason, chunk count, usage.
async function drain(stream) {
  const out = { text: '', finish: null, chunks: 0, usage: null, ids: new Set() };
  for await (const chunk of stream) {
    out.chunks++;
    out.ids.add(chunk.id);
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta?.content) out.text += choice.delta.content;
      if (choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
  return out;
}

async function streamErrorChecks() {
  await check('failure after the stream started raises APIError', async () => {
    const stream = await client.chat.completions.create({ model, messages, stream: true });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content || '';
      })(),
      (e) => {
        assert.ok(e instanceof OpenAI.APIError, `not an APIError: ${e}`);
        assert.ok(e.message.length > 0);
        return true;
      },
    );
    assert.ok(text.length > 0, 'the error came before any text');
  });
  await check('the same failure without streaming is an HTTP error', async () => {
    await assert.rejects(
      client.chat.completions.create({ model, messages }),
      (e) => e instanceof OpenAI.APIError && e.status >= 500 && typeof e.type === 'string',
    );
  });
}

if (process.env.RK_MODE === 'stream-error') {
  await streamErrorChecks();
  console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
  process.exit(failed ? 1 : 0);
}

let plain = null;
await check('chat.completions.create (plain)', async () => {
  const r = await client.chat.completions.create({ model, messages, temperature: 0.1, max_tokens: 64 });
  assert.equal(r.object, 'chat.completion');
  assert.ok(r.id.startsWith('chatcmpl-'), `id ${r.id}`);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.choices[0].message.content.length > 0, 'empty answer');
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.ok(Array.isArray(r.sources), 'sources is not a list');
  plain = r.choices[0].message.content;
  if (process.env.RK_EXPECT !== undefined) assert.equal(plain, process.env.RK_EXPECT);
});

await check('stream: true, deltas concatenate to the plain answer', async () => {
  const stream = await client.chat.completions.create({ model, messages, stream: true });
  const s = await drain(stream);
  assert.ok(plain !== null, 'no plain answer to compare with');
  assert.equal(s.text, plain);
  assert.equal(s.finish, 'stop');
  assert.ok(s.chunks >= 3, `only ${s.chunks} chunks`);
  assert.equal(s.ids.size, 1, 'chunks carry different ids');
});

await check('stream with include_usage ends with a usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model, messages, stream: true, stream_options: { include_usage: true },
  });
  const s = await drain(stream);
  assert.equal(s.text, plain);
  assert.ok(s.usage && typeof s.usage.total_tokens === 'number', 'no usage chunk');
});

await check('withResponse: X-Request-Id header', async () => {
  const { response } = await client.chat.completions
    .create({ model, messages }, { headers: { 'X-Request-Id': 'sdk-req-42' } })
    .withResponse();
  assert.equal(response.headers.get('x-request-id'), 'sdk-req-42');
  assert.match(response.headers.get('x-cache') || '', /^(hit|miss)$/);
});

await check('models.list', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert.equal(m.object, 'model');
    ids.push(m.id);
  }
  assert.ok(ids.includes(model), `models: ${ids.join(',')}`);
});

await check('empty messages -> APIError 400 invalid_request_error', async () => {
  await assert.rejects(
    client.chat.completions.create({ model, messages: [] }),
    (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `not a BadRequestError: ${e}`);
      assert.equal(e.status, 400);
      assert.equal(e.type, 'invalid_request_error');
      assert.equal(e.param, 'messages');
      assert.ok(e.message.includes('messages'), e.message);
      assert.ok(e.request_id || e.headers?.['x-request-id'], 'no request id on the error');
      return true;
    },
  );
});

await check('streamed request with a bad role -> APIError 400 before any chunk', async () => {
  await assert.rejects(
    client.chat.completions.create({ model, stream: true, messages: [{ role: 'tool', content: 'x', tool_call_id: 't' }] }),
    (e) => e instanceof OpenAI.APIError && e.status === 400 && e.type === 'invalid_request_error',
  );
});

await check('unknown route through the SDK -> NotFoundError', async () => {
  await assert.rejects(
    client.get('/no/such/route'),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404,
  );
});

console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(failed ? 1 : 0);
