// api.js: calls to ragkernel's HTTP API from the page. The API key lives
// in sessionStorage (gone when the tab closes) and goes out as
// "Authorization: Bearer"; without one, calls carry no credentials (a
// keyless server on loopback answers them).

const KEY = 'ragkernel.api_key';

export function getKey() {
  return sessionStorage.getItem(KEY) || '';
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function withKey(headers = {}) {
  const h = { ...headers };
  const key = getKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

// The server's errors are OpenAI's shape: {"error": {"message": ...}}.
function errorFrom(status, statusText, text) {
  let message = `${status} ${statusText}`.trim();
  try {
    const j = JSON.parse(text);
    if (j && j.error && j.error.message) message = j.error.message;
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(status, message);
}

export async function call(path, options = {}) {
  const res = await fetch(path, { ...options, headers: withKey(options.headers) });
  if (!res.ok) throw errorFrom(res.status, res.statusText, await res.text());
  return res;
}

export async function getJSON(path) {
  return (await call(path)).json();
}

// The data of each server-sent event of a streamed response, in order.
export async function* events(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value.replace(/\r\n/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) yield data;
    }
  }
}

// Upload one file to POST /documents (multipart), reporting progress as
// (bytes sent, bytes in all); resolves with the stored document.
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/documents');
    const h = withKey();
    for (const [k, v] of Object.entries(h)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try { resolve(JSON.parse(xhr.responseText)); } catch { resolve({}); }
      } else reject(errorFrom(xhr.status, xhr.statusText, xhr.responseText));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed: no answer from the server'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

// Every document, following the list's "next" cursor.
export async function listDocuments() {
  const all = [];
  let after = '';
  for (let page = 0; page < 100; page++) {
    const q = after ? `&after=${encodeURIComponent(after)}` : '';
    const j = await getJSON(`/documents?limit=100${q}`);
    all.push(...(j.data || []));
    if (!j.has_more || !j.next) break;
    after = j.next;
  }
  return all;
}
