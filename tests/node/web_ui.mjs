// The web UI in Debian's headless Chromium, driven by puppeteer-core
// (test_web_ui.sh starts ragkernel and runs this from tests/node):
// enter the key, upload a file with a unique sentence, ask about it, see
// the streamed answer cite that file, open the cited passage, delete the
// file, open the status view. Screenshots of each view go to RK_SHOTS.
// The page may talk to its own origin only: any other request, any error
// on the page (a Content-Security-Policy violation included) fails.
//
//   RK_URL     the server; RK_KEY its API key; RK_FILE the file to upload
//   RK_SENTENCE  the file's unique sentence; RK_QUESTION what to ask
//   RK_SHOTS   where ui-*.png go; RK_PIDFILE  chromium's PID is written here
// With RK_MODE=nokey (a server without keys, on loopback): the page must
// work without asking for a key; RK_QUESTION is asked about the documents
// already there and the answer must cite one of them.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const NOKEY = process.env.RK_MODE === 'nokey';
const URL_ = env('RK_URL');
const KEY = NOKEY ? '' : env('RK_KEY');
const FILE = NOKEY ? '' : env('RK_FILE');
const SENTENCE = NOKEY ? '' : env('RK_SENTENCE');
const QUESTION = env('RK_QUESTION');
const SHOTS = NOKEY ? '' : env('RK_SHOTS');
const FILENAME = path.basename(FILE);
const STEP_MS = 20000;

let failed = 0;
function check(what, ok, detail = '') {
  if (ok) console.log(`ok: ${what}`);
  else {
    failed++;
    console.log(`FAIL: ${what}${detail ? ` (${detail})` : ''}`);
  }
}

const origin = new URL(URL_).origin;
const foreign = [];
const pageErrors = [];

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `ui-${name}.png`) });
  console.log(`screenshot: ${path.join(SHOTS, `ui-${name}.png`)}`);
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
// Click what sel matches at the moment of the click, inside the page: a
// list or message the page re-renders may replace the element between a
// lookup and a puppeteer click ("Node is detached from document").
async function clickNow(page, sel) {
  for (let i = 0; ; i++) {
    try {
      await page.waitForSelector(sel, { timeout: STEP_MS });
      return await page.$eval(sel, (e) => e.click());
    } catch (e) {
      if (i >= 4 || !/detached|not find|No element/i.test(String(e))) throw e;
    }
  }
}

async function login(page) {
  await page.goto(`${URL_}/`, { waitUntil: 'load', timeout: STEP_MS });
  await page.waitForSelector('body[data-ready]', { timeout: STEP_MS });
  await page.waitForFunction(() => !document.getElementById('notice').hidden,
    { timeout: STEP_MS });
  check('without a key the page asks for one',
    /needs an API key/.test(await text(page, '#notice')), await text(page, '#notice'));
  await page.type('#key', KEY);
  await page.click('#key-save');
  await page.waitForFunction(() => document.getElementById('key-state').textContent === 'key in use',
    { timeout: STEP_MS });
  check('the key is accepted and kept in sessionStorage',
    (await page.evaluate(() => sessionStorage.getItem('ragkernel.api_key'))) === KEY);
}

async function noKey(page) {
  await page.goto(`${URL_}/`, { waitUntil: 'load', timeout: STEP_MS });
  await page.waitForSelector('body[data-ready]', { timeout: STEP_MS });
  await page.waitForFunction(() => document.getElementById('key-state').textContent !== '',
    { timeout: STEP_MS });
  check('without keys on the server the page needs none',
    (await text(page, '#key-state')) === 'no key needed'
      && await page.$eval('#notice', (n) => n.hidden));
  await page.type('#question', QUESTION);
  await page.click('#send');
  await page.waitForSelector('.msg.assistant[data-done]', { timeout: STEP_MS });
  const cites = await page.$$eval('.msg.assistant .text button.cite', (bs) => bs.length);
  check('an answer with citations, without a key', cites > 0
    && !(await page.$('.msg.assistant .err')), await text(page, '.msg.assistant'));
  await page.goto(`${URL_}/#docs`, { waitUntil: 'load', timeout: STEP_MS });
  await page.waitForSelector('#doc-list[data-loaded]', { timeout: STEP_MS });
  check('the documents are listed without a key',
    (await page.$$eval('#doc-list tr', (rs) => rs.length)) > 0);
}

async function uploadFile(page) {
  await page.goto(`${URL_}/#docs`, { waitUntil: 'load', timeout: STEP_MS });
  await page.waitForSelector('#doc-list[data-loaded]', { timeout: STEP_MS });
  // every text the status line shows, to see the progress callback ran
  await page.evaluate(() => {
    window.uploadTexts = [];
    const s = document.getElementById('upload-status');
    new MutationObserver(() => window.uploadTexts.push(s.textContent))
      .observe(s, { childList: true, characterData: true, subtree: true });
  });
  const input = await page.$('#file');
  await input.uploadFile(FILE);
  await page.click('#upload');
  await page.waitForFunction(() => /^(Added|Upload failed)/.test(
    document.getElementById('upload-status').textContent), { timeout: STEP_MS });
  const status = await text(page, '#upload-status');
  check('the upload succeeded', status.startsWith('Added'), status);
  const texts = await page.evaluate(() => window.uploadTexts);
  check('upload progress was reported (XMLHttpRequest upload events)',
    texts.some((t) => /^(Uploading .*: .* of |Indexing )/.test(t)), JSON.stringify(texts));
  // the list is refreshed after "Added" is shown: wait for the row
  const row = await page.waitForFunction((name) => [...document.querySelectorAll('#doc-list tr')]
    .find((r) => r.cells[0].textContent === name)?.dataset.id, { timeout: STEP_MS }, FILENAME)
    .catch(() => null);
  const id = row ? await row.jsonValue() : undefined;
  check('the list shows the uploaded file', !!id);
  await shot(page, 'documents');
  return id;
}

async function chat(page, docId) {
  await page.goto(`${URL_}/#chat`, { waitUntil: 'load', timeout: STEP_MS });
  await page.waitForSelector('body[data-ready]', { timeout: STEP_MS });
  // count the renders of the answer while it streams
  await page.evaluate(() => {
    window.renders = 0;
    new MutationObserver(() => { window.renders++; })
      .observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
  });
  await page.type('#question', QUESTION);
  await page.click('#send');
  await page.waitForSelector('.msg.assistant[data-done]', { timeout: STEP_MS });
  const answer = await text(page, '.msg.assistant .text');
  const err = await page.$('.msg.assistant .err');
  check('an answer came, without an error', !err && answer.length > 10,
    err ? await text(page, '.msg.assistant .err') : answer);
  const key = SENTENCE.split(' ').slice(1, 4).join(' ');
  check('the answer quotes the uploaded sentence', answer.includes(key), answer);
  // the answer can only come through the SSE reader (chat.js sends
  // "stream": true and reads events): print how often it was redrawn
  console.log(`info: the chat view changed ${await page.evaluate(() => window.renders)} times`);
  const cites = await page.$$eval('.msg.assistant .text button.cite',
    (bs) => bs.map((b) => ({ n: b.dataset.n, doc: b.dataset.doc })));
  const cite = cites.find((c) => c.doc === docId);
  check('a citation [n] points at the uploaded file', !!cite, JSON.stringify(cites));
  await shot(page, 'chat');
  if (!cite) return;
  await clickNow(page, `.msg.assistant .text button.cite[data-n="${cite.n}"]`);
  await page.waitForSelector('#passage[open]', { timeout: STEP_MS });
  const passage = await text(page, '#passage-text');
  const doc = await text(page, '#passage-doc');
  check('the cited passage opens with its text', passage.includes(key), passage);
  check('the passage names its document', doc.includes(FILENAME) && doc.includes(docId), doc);
  await shot(page, 'passage');
  await clickNow(page, '#passage-close');
  await page.waitForFunction(() => !document.getElementById('passage').open, { timeout: STEP_MS });
}

async function remove(page, docId) {
  await page.goto(`${URL_}/#docs`, { waitUntil: 'load', timeout: STEP_MS });
  await page.waitForSelector(`#doc-list tr[data-id="${docId}"]`, { timeout: STEP_MS });
  page.once('dialog', (d) => d.accept());
  await clickNow(page, `#doc-list tr[data-id="${docId}"] button.danger`);
  await page.waitForFunction((id) => !document.querySelector(`#doc-list tr[data-id="${id}"]`),
    { timeout: STEP_MS }, docId);
  check('after delete the file is gone from the list', true);
  const res = await fetch(`${URL_}/documents/${docId}`, { headers: { Authorization: `Bearer ${KEY}` } });
  check('and from the server (GET is 404)', res.status === 404, String(res.status));
}

async function status(page) {
  await page.goto(`${URL_}/#status`, { waitUntil: 'load', timeout: STEP_MS });
  await page.waitForSelector('#status[data-loaded]', { timeout: STEP_MS });
  const server = await text(page, '#status-server');
  check('the status view shows the version', /\d+\.\d+\.\d+ \(ABI \d+\.\d+\)/.test(server), server);
  check('the status view shows the server ready', /Readyready/.test(server), server);
  const models = await text(page, '#status-models');
  check('the status view lists the models', models.includes('extractive'), models);
  const breaker = await page.$eval('tr[data-provider="extractive"]', (r) => r.cells[1].textContent)
    .catch(() => '');
  check('the status view shows the breaker of each provider', breaker === 'closed', breaker);
  await shot(page, 'status');
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-default-apps', '--disable-sync', '--lang=en-US',
    // nothing but loopback resolves
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  defaultViewport: { width: 1100, height: 720 },
  timeout: 60000,
});
if (process.env.RK_PIDFILE) fs.writeFileSync(process.env.RK_PIDFILE, `${browser.process().pid}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { browser.process()?.kill('SIGKILL'); process.exit(143); });
}
try {
  const page = await browser.newPage();
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:')) foreign.push(u);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  if (NOKEY) await noKey(page);
  else {
    await login(page);
    const id = await uploadFile(page);
    if (id) {
      await chat(page, id);
      await remove(page, id);
    }
  }
  await status(page);
  // a 401 before the key is entered is expected (and logged by Chromium)
  const errors = pageErrors.filter((e) => !/status of 401/.test(e));
  check('no error on the page (CSP violations included)', errors.length === 0, errors.join(' | '));
  check('no request left the server\'s origin', foreign.length === 0, foreign.join(' '));
} catch (e) {
  check(`the walk through the page ran to the end: ${e.message}`, false);
} finally {
  await browser.close();
}
console.log(failed ? `${failed} checks failed` : 'web_ui: every check passed');
process.exit(failed ? 1 : 0);
