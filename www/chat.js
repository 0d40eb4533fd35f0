// chat.js: the chat view. Questions go to /v1/chat/completions with
// "stream": true; the first event carries the sources (ragkernel's extra
// "sources" field), the next ones the answer's text, and [n] in the text
// becomes a button that opens source n's passage. The conversation is kept
// here and sent whole with each question, as OpenAI's API expects.

import { call, events, ApiError } from './api.js';
import { el, marked } from './dom.js';

const history = [];
let busy = false;
let docNames = async () => new Map();

// docs.js tells us how to map a doc_id to its file name.
export function setDocNames(fn) { docNames = fn; }

function bubble(role, ...content) {
  const list = document.getElementById('messages');
  list.querySelector('.hint')?.remove();
  const b = el('div', { class: `msg ${role}` }, ...content);
  list.append(b);
  b.scrollIntoView({ block: 'end' });
  return b;
}

async function openPassage(n, source) {
  const names = await docNames().catch(() => new Map());
  const file = names.get(source.doc_id);
  document.getElementById('passage-title').textContent =
    `[${n}] ${source.title || file || source.doc_id}`;
  document.getElementById('passage-doc').textContent =
    `${file || 'document'} · ${source.doc_id}` +
    (typeof source.score === 'number' ? ` · score ${source.score.toFixed(2)}` : '');
  document.getElementById('passage-text').replaceChildren(...marked(source.snippet || ''));
  document.getElementById('passage').showModal();
}

function citeButton(n, sources) {
  const s = sources[n - 1];
  if (!s) return `[${n}]`;
  return el('button', {
    type: 'button', class: 'cite', title: s.title || s.doc_id,
    dataset: { n: String(n), doc: s.doc_id },
    onclick: () => openPassage(n, s),
  }, `[${n}]`);
}

// The answer's text with its citations as buttons.
function render(target, text, sources) {
  const parts = text.split(/\[(\d+)\]/g);
  target.replaceChildren(...parts.map((p, i) => (i % 2 ? citeButton(Number(p), sources) : p)));
}

function sourceList(sources) {
  if (!sources.length) return null;
  return el('ol', { class: 'sources' }, sources.map((s, i) =>
    el('li', {}, el('button', {
      type: 'button', class: 'link', dataset: { n: String(i + 1), doc: s.doc_id },
      onclick: () => openPassage(i + 1, s),
    }, s.title || s.doc_id))));
}

async function ask(question) {
  history.push({ role: 'user', content: question });
  bubble('user', question);
  const text = el('div', { class: 'text streaming' }, '…');
  const answer = bubble('assistant', text);
  let said = '';
  let sources = [];
  try {
    const res = await call('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ stream: true, messages: history }),
    });
    for await (const data of events(res)) {
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(0, chunk.error.message || 'the answer failed');
      if (Array.isArray(chunk.sources)) sources = chunk.sources;
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        said += delta;
        render(text, said, sources);
      }
    }
    if (!said) text.textContent = '(no answer)';
    history.push({ role: 'assistant', content: said });
    const list = sourceList(sources);
    if (list) answer.append(list);
  } catch (e) {
    history.pop(); // the question got no answer: not part of the conversation
    if (said) render(text, said, sources);
    answer.classList.add('error');
    answer.append(el('p', { class: 'err' }, e instanceof ApiError && e.status === 401
      ? 'This server needs an API key: enter it above.' : `Error: ${e.message}`));
  } finally {
    text.classList.remove('streaming');
    answer.dataset.done = 'true';
  }
}

export function initChat() {
  const form = document.getElementById('chat-form');
  const q = document.getElementById('question');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const question = q.value.trim();
    if (!question || busy) return;
    busy = true;
    document.getElementById('send').disabled = true;
    q.value = '';
    try { await ask(question); } finally {
      busy = false;
      document.getElementById('send').disabled = false;
      q.focus();
    }
  });
  q.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  document.getElementById('new-chat').addEventListener('click', () => {
    history.length = 0;
    document.getElementById('messages').replaceChildren();
    q.focus();
  });
}
