// app.js: the page's entry point: the three views (chat, documents,
// status) behind the location's #fragment, and the API key form.

import { getKey, setKey, getJSON, ApiError } from './api.js';
import { initChat, setDocNames } from './chat.js';
import { initDocs, refresh as refreshDocs, docNames } from './docs.js';
import { initStatus, refreshStatus } from './status.js';
import { notice } from './dom.js';

const VIEWS = ['chat', 'docs', 'status'];

function show() {
  const want = location.hash.slice(1);
  const view = VIEWS.includes(want) ? want : 'chat';
  for (const v of VIEWS) {
    document.getElementById(`view-${v}`).hidden = v !== view;
    document.getElementById(`tab-${v}`).classList.toggle('active', v === view);
  }
  if (view === 'docs') refreshDocs();
  if (view === 'status') refreshStatus();
  if (view === 'chat') document.getElementById('question').focus();
}

// Whether this server wants a key we do not have (or do not have right).
async function probe() {
  const state = document.getElementById('key-state');
  try {
    await getJSON('/v1/models');
    notice('');
    state.textContent = getKey() ? 'key in use' : 'no key needed';
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      notice(getKey() ? `The key was refused: ${e.message}` : 'This server needs an API key: enter it above.');
      state.textContent = '';
    } else notice(`The server did not answer: ${e.message}`);
  }
}

function initKey() {
  const input = document.getElementById('key');
  input.value = getKey();
  document.getElementById('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setKey(input.value.trim());
    probe().then(show);
  });
  document.getElementById('key-forget').addEventListener('click', () => {
    setKey('');
    input.value = '';
    probe();
  });
}

initKey();
initChat();
setDocNames(docNames);
initDocs();
initStatus();
window.addEventListener('hashchange', show);
show();
probe();
document.body.dataset.ready = 'true';
