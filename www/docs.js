// docs.js: the documents view: upload (multipart to POST /documents, with
// a progress bar fed by XMLHttpRequest's upload events), the list, and
// delete. It also knows each document's file name, which the chat view
// shows beside a cited passage.

import { call, listDocuments, upload, ApiError } from './api.js';
import { el, bytes, when, notice } from './dom.js';

let names = null; // doc_id -> filename, from the last list

export async function docNames() {
  if (!names) await refresh();
  return names || new Map();
}

async function remove(doc, row) {
  if (!confirm(`Delete ${doc.filename}? Its passages leave the index too.`)) return;
  row.classList.add('busy');
  try {
    await call(`/documents/${encodeURIComponent(doc.id)}`, { method: 'DELETE' });
    await refresh();
  } catch (e) {
    row.classList.remove('busy');
    notice(`Could not delete ${doc.filename}: ${e.message}`);
  }
}

function row(doc) {
  const r = el('tr', { dataset: { id: doc.id } },
    el('td', {}, doc.filename),
    el('td', { class: 'mono' }, doc.id),
    el('td', { class: 'num' }, bytes(doc.size || 0)),
    el('td', {}, when(doc.created_at)));
  r.append(el('td', {}, el('button', {
    type: 'button', class: 'danger', 'aria-label': `Delete ${doc.filename}`,
    onclick: () => remove(doc, r),
  }, 'Delete')));
  return r;
}

export async function refresh() {
  const tbody = document.getElementById('doc-list');
  try {
    const docs = await listDocuments();
    names = new Map(docs.map((d) => [d.id, d.filename]));
    tbody.replaceChildren(...docs.map(row));
    document.getElementById('doc-empty').hidden = docs.length > 0;
    tbody.dataset.loaded = String(Date.now());
  } catch (e) {
    names = null;
    notice(e instanceof ApiError && e.status === 401
      ? 'This server needs an API key: enter it above.'
      : `Could not list the documents: ${e.message}`);
  }
}

export function initDocs() {
  const form = document.getElementById('upload-form');
  const bar = document.getElementById('upload-progress');
  const status = document.getElementById('upload-status');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = document.getElementById('file').files[0];
    if (!file) return;
    const button = document.getElementById('upload');
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = `Uploading ${file.name}…`;
    try {
      const doc = await upload(file, (sent, total) => {
        bar.value = total ? sent / total : 0;
        status.textContent = sent < total
          ? `Uploading ${file.name}: ${bytes(sent)} of ${bytes(total)}`
          : `Indexing ${file.name}…`;
      });
      bar.value = 1;
      status.textContent = `Added ${doc.filename || file.name} (${doc.id || ''})`;
      form.reset();
      await refresh();
    } catch (e) {
      status.textContent = `Upload failed: ${e.message}`;
    } finally {
      button.disabled = false;
      bar.hidden = true;
    }
  });
}
