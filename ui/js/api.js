// api.js — the UI's only door to the camera's HTTPS API (/api/v1, same origin, session cookie).
// Adds the CSRF token to every state-changing request, parses JSON errors into stable codes, and tells
// the app when the session has ended (401) or the initial password must still be changed (403).
// Runs in the browser. The CSRF token (not a credential: it only proves a request came from this page)
// is kept in memory and in this tab's sessionStorage so a reload keeps working when the server does not
// echo it in GET /api/v1/session; it is dropped at logout and when the session ends.

const CSRF_KEY = 'safecam.csrf';
let csrfToken = null;
let onUnauthorized = null;
let onPasswordChange = null;

try {
  const saved = window.sessionStorage.getItem(CSRF_KEY);
  if (saved && /^[0-9a-f]{64}$/.test(saved)) csrfToken = saved;
} catch (_) { /* storage disabled: memory only */ }

export function setCsrf(token) {
  csrfToken = token || null;
  try {
    if (csrfToken) window.sessionStorage.setItem(CSRF_KEY, csrfToken);
    else window.sessionStorage.removeItem(CSRF_KEY);
  } catch (_) { /* memory only */ }
}

export function getCsrf() {
  return csrfToken;
}

export function setHandlers(h) {
  onUnauthorized = h.unauthorized;
  onPasswordChange = h.passwordChange;
}

export class ApiError extends Error {
  constructor(status, code, body, headers) {
    super(`${status} ${code}`);
    this.status = status;
    this.code = code;
    this.body = body || {};
    this.headers = headers;
  }
}

async function readJson(resp) {
  const type = resp.headers.get('Content-Type') || '';
  if (resp.status === 204 || !type.includes('json')) return null;
  try {
    return await resp.json();
  } catch (_) {
    return null;
  }
}

function codeFor(status, body) {
  if (body && typeof body.error === 'string') return body.error;
  if (status === 404) return 'not_found';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'locked';
  if (status >= 500) return 'internal';
  return 'http_' + status;
}

// request('PUT', '/api/v1/settings/stream', {fps: 10}) -> parsed JSON (or null for 204).
// Throws ApiError for any non-2xx answer; network failures become ApiError(0, 'network').
// opts.quiet: do not trigger the session-ended / password-change handlers (login, session probe).
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', null, null);
  }
  const data = await readJson(resp);
  if (resp.ok) return data;
  const code = codeFor(resp.status, data);
  const err = new ApiError(resp.status, code, data, resp.headers);
  if (!opts.quiet) {
    if (resp.status === 401 && onUnauthorized) onUnauthorized(method);
    if (resp.status === 403 && code === 'password_change_required' && onPasswordChange) onPasswordChange();
  }
  throw err;
}

export const api = {
  get: (p, o) => request('GET', p, null, o),
  post: (p, b, o) => request('POST', p, b === undefined ? {} : b, o),
  put: (p, b, o) => request('PUT', p, b, o),
  patch: (p, b, o) => request('PATCH', p, b, o),
  del: (p, o) => request('DELETE', p, null, o),
};

// Does this firmware have the endpoint? A GET (never changes state) with the session handlers off; 404 =
// not on this firmware. A missing endpoint is remembered for this tab and firmware version, so the page
// asks once instead of adding a 404 to the console on every visit. Resolves {present, data}; other
// errors (401, 5xx, network) are thrown.
export async function probe(path, version = '') {
  const key = 'safecam.missing.' + String(version) + '.' + path;
  let missing = false;
  try { missing = window.sessionStorage.getItem(key) === '1'; } catch (_) { missing = false; }
  if (missing) return { present: false, data: null };
  try {
    return { present: true, data: await request('GET', path, null, { quiet: true }) };
  } catch (e) {
    if (e.status !== 404) throw e;
    try { window.sessionStorage.setItem(key, '1'); } catch (_) { /* not remembered: asked again next time */ }
    return { present: false, data: null };
  }
}

// Upload a file body (firmware bundle) with progress: onProgress(loaded, total).
// Resolves with the parsed JSON answer; rejects with ApiError.
export function upload(method, path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path, true);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.addEventListener('progress', (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : file.size));
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network', null, null)));
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (_) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        const code = codeFor(xhr.status, data);
        if (xhr.status === 401 && onUnauthorized) onUnauthorized(method);
        reject(new ApiError(xhr.status, code, data, null));
      }
    });
    xhr.send(file);
  });
}
