// status.js: the status view, from what the API already offers:
// /health, /ready, /v1/models, /metrics (Prometheus text: version, circuit
// breakers, requests per provider, memory) and /documents. /metrics needs
// the admin scope unless the server makes it public; without it the view
// shows what the other calls told.

import { call, getJSON, listDocuments } from './api.js';
import { el, bytes } from './dom.js';

// name{labels} value lines into [{name, labels: {}, value}].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const BREAKER = ['closed', 'open', 'half-open'];

async function settle(p) {
  try { return { ok: true, value: await p }; } catch (e) { return { ok: false, error: e }; }
}

function card(title, ...rows) {
  return el('div', { class: 'card' }, el('h2', {}, title), ...rows);
}

function kv(pairs) {
  return el('dl', {}, pairs.flatMap(([k, v, cls]) => [el('dt', {}, k), el('dd', { class: cls }, v)]));
}

function duration(s) {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}

function providersCard(metrics) {
  const prov = new Map();
  for (const m of metrics) {
    const p = m.labels.provider;
    if (!p) continue;
    const e = prov.get(p) || { ok: 0, error: 0, timeout: 0, state: null };
    if (m.name === 'ragkernel_llm_breaker_state') e.state = m.value;
    if (m.name === 'ragkernel_llm_requests_total') e[m.labels.outcome] = m.value;
    prov.set(p, e);
  }
  if (!prov.size) return null;
  const rows = [...prov].map(([p, e]) => el('tr', { dataset: { provider: p } },
    el('td', {}, p),
    el('td', { class: e.state ? 'bad' : 'good' }, e.state === null ? '—' : BREAKER[e.state] || String(e.state)),
    el('td', { class: 'num' }, String(e.ok || 0)),
    el('td', { class: 'num' }, String(e.error || 0)),
    el('td', { class: 'num' }, String(e.timeout || 0))));
  const c = card('LLM providers', el('table', {},
    el('thead', {}, el('tr', {}, ['Provider', 'Breaker', 'OK', 'Errors', 'Timeouts']
      .map((h, i) => el('th', { class: i > 1 ? 'num' : undefined }, h)))),
    el('tbody', {}, rows)));
  c.classList.add('wide');
  return c;
}

export async function refreshStatus() {
  const box = document.getElementById('status');
  const [health, ready, models, metrics, docs] = await Promise.all([
    settle(getJSON('/health')),
    settle(fetch('/ready').then(async (r) => ({ code: r.status, body: await r.json() }))),
    settle(getJSON('/v1/models')),
    settle(call('/metrics').then((r) => r.text()).then(parseMetrics)),
    settle(listDocuments()),
  ]);
  const m = metrics.ok ? metrics.value : [];
  const one = (name) => m.find((x) => x.name === name);
  const build = one('ragkernel_build_info');
  const start = one('process_start_time_seconds');
  const rss = one('process_resident_memory_bytes');
  const isReady = ready.ok && ready.value.code === 200;
  const server = card('Server', kv([
    ['Version', build ? `${build.labels.version} (ABI ${build.labels.abi})` : '—'],
    ['Health', health.ok ? health.value.status : `unreachable: ${health.error.message}`, health.ok ? 'good' : 'bad'],
    ['Ready', isReady ? 'ready' : (ready.ok ? ready.value.body.reason || 'not ready' : ready.error.message), isReady ? 'good' : 'bad'],
    ['Uptime', start ? duration(Date.now() / 1000 - start.value) : '—'],
    ['Memory (RSS)', rss ? bytes(rss.value) : '—'],
  ]));
  server.id = 'status-server';
  const modelCard = card('Models', models.ok
    ? el('ul', { id: 'status-models' }, (models.value.data || []).map((x) =>
      el('li', {}, el('span', { class: 'mono' }, x.id), ` · ${x.owned_by}`)))
    : el('p', { class: 'bad' }, models.error.message));
  const chunks = m.filter((x) => x.name === 'ragkernel_retriever_chunks')
    .reduce((a, x) => a + x.value, 0);
  const docCard = card('Documents', kv([
    ['Documents', docs.ok ? String(docs.value.length) : docs.error.message],
    ['Indexed passages', metrics.ok ? String(chunks) : '—'],
    ['Total size', docs.ok ? bytes(docs.value.reduce((a, d) => a + (d.size || 0), 0)) : '—'],
  ]));
  const cards = [server, modelCard, docCard, providersCard(m)];
  if (!metrics.ok) {
    cards.push(card('Metrics', el('p', { class: 'muted' },
      `/metrics: ${metrics.error.message} (it needs a key with the admin scope, ` +
      'or public_metrics: true)')));
  }
  box.replaceChildren(...cards.filter(Boolean));
  document.getElementById('status-time').textContent = `as of ${new Date().toLocaleTimeString()}`;
  box.dataset.loaded = String(Date.now());
}

export function initStatus() {
  document.getElementById('status-refresh').addEventListener('click', refreshStatus);
}
