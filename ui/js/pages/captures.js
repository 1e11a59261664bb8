// pages/captures.js — captures: snapshots saved on the camera (sealed under the storage key, erased by a
// factory reset). Every role sees the list and downloads them; an administrator saves a new one and deletes
// one or all, each deletion after a confirmation dialog, with the result announced (role=status/alert).
// API: GET/POST/DELETE /api/v1/captures, GET/DELETE /api/v1/captures/{id}. QCVN 135 G9 / EN 303 645 5.11-1
// (the user can delete personal data). Thumbnails are fetched with the session cookie and shown from blob:
// URLs (CSP img-src 'self' blob:); where the firmware has no captures API (404) the page says so.
import { api, probe, request } from '../api.js';
import { confirmDialog, formatBytes, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { formatTime, t } from '../i18n.js';

const LIST_URL = '/api/v1/captures';
const THUMB_CONCURRENCY = 2;

let thumbs = new Map(); // capture id -> blob: URL of its image (revoked on leave)
let observer = null;
let current = null; // the rendered page's state, for onLang

export function leave() {
  if (observer) observer.disconnect();
  observer = null;
  for (const url of thumbs.values()) URL.revokeObjectURL(url);
  thumbs = new Map();
  current = null;
}

export function onLang() {
  if (current) current.redraw();
}

function itemUrl(id) {
  return `${LIST_URL}/${encodeURIComponent(id)}`;
}

// A download name with the capture's local date and time: safecam-capture-20251129-235001.jpg.
function fileName(c) {
  const d = new Date(c.created_at * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `safecam-capture-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.jpg`;
}

function validCapture(c) {
  return c && typeof c.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(c.id)
    && Number.isFinite(c.created_at) && Number.isFinite(c.size);
}

// Thumbnails, loaded when their row scrolls into view, at most THUMB_CONCURRENCY at a time.
const queue = [];
let running = 0;

function pump() {
  while (running < THUMB_CONCURRENCY && queue.length) {
    const job = queue.shift();
    running += 1;
    job().finally(() => {
      running -= 1;
      pump();
    });
  }
}

function loadThumb(c, cell) {
  const show = (url) => {
    const img = h('img', { class: 'thumb', src: url, alt: t('captures.thumb_alt', { time: formatTime(c.created_at) }), width: '160', height: '90', decoding: 'async' });
    cell.replaceChildren(img);
  };
  if (thumbs.has(c.id)) {
    show(thumbs.get(c.id));
    return;
  }
  queue.push(async () => {
    if (!cell.isConnected) return;
    try {
      const resp = await fetch(itemUrl(c.id), { credentials: 'same-origin', cache: 'no-store', redirect: 'error' });
      if (!resp.ok) return;
      const blob = await resp.blob();
      if (!/^image\//.test(blob.type) && blob.type !== '') return;
      if (thumbs.has(c.id)) URL.revokeObjectURL(thumbs.get(c.id));
      const url = URL.createObjectURL(blob.type ? blob : new Blob([blob], { type: 'image/jpeg' }));
      thumbs.set(c.id, url);
      if (cell.isConnected) show(url);
    } catch (_) { /* no preview; the download link still works */ }
  });
  pump();
}

export async function render(ctx) {
  leave();
  const isAdmin = ctx.session && ctx.session.role === 'admin';
  const status = statusBox('captures-status');
  status.setAttribute('tabindex', '-1');
  let list = [];
  let present = true;
  let version = '';
  try {
    const d = await api.get('/api/v1/device');
    if (d && d.firmware_version) version = String(d.firmware_version);
  } catch (_) { /* the probe below still works */ }
  try {
    const r = await probe(LIST_URL, version);
    present = r.present;
    if (present) list = (r.data && Array.isArray(r.data.captures) ? r.data.captures : []).filter(validCapture);
  } catch (e) {
    showError(status, e, h('p', { i18n: 'captures.load_failed' }));
  }
  if (!present) showStatus(status, 'info', 'common.not_available');

  const saveBtn = h('button', { type: 'button', class: 'primary', id: 'capture-save', i18n: 'captures.save', disabled: !present });
  const delAllBtn = h('button', { type: 'button', class: 'danger', id: 'capture-delete-all', i18n: 'captures.delete_all', disabled: !present || list.length === 0 });
  const summary = h('p', { id: 'captures-summary' });
  const listTitle = h('h2', { id: 'captures-list-title', tabindex: '-1', i18n: 'captures.list_title' });
  const tbody = h('tbody', { id: 'captures-rows' });
  const headCells = [
    h('th', { scope: 'col', i18n: 'captures.col_time' }),
    h('th', { scope: 'col', i18n: 'captures.col_preview' }),
    h('th', { scope: 'col', i18n: 'captures.col_size' }),
    h('th', { scope: 'col', i18n: 'captures.col_download' }),
  ];
  if (isAdmin) headCells.push(h('th', { scope: 'col', i18n: 'captures.col_actions' }));
  const table = h('table', { class: 'table captures', id: 'captures-table', 'aria-labelledby': 'captures-list-title' },
    h('thead', null, h('tr', null, headCells)), tbody);
  const tableWrap = h('div', { class: 'table-wrap' }, table);

  if (typeof IntersectionObserver === 'function') {
    observer = new IntersectionObserver((entries, obs) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        obs.unobserve(e.target);
        const c = list.find((x) => x.id === e.target.getAttribute('data-id'));
        if (c) loadThumb(c, e.target);
      }
    }, { rootMargin: '200px' });
  }

  // Where focus goes when the focused control disappears with its row.
  function keepFocus() {
    if (!document.activeElement || document.activeElement === document.body || !document.activeElement.isConnected) listTitle.focus();
  }

  async function reload() {
    try {
      const r = await api.get(LIST_URL);
      list = (r && Array.isArray(r.captures) ? r.captures : []).filter(validCapture);
    } catch (e) {
      if (e.status !== 401) showError(status, e, h('p', { i18n: 'captures.load_failed' }));
    }
    // Forget the previews of captures that are gone.
    for (const [id, url] of thumbs) {
      if (!list.some((c) => c.id === id)) {
        URL.revokeObjectURL(url);
        thumbs.delete(id);
      }
    }
    redraw();
  }

  async function deleteOne(c, btn) {
    hideStatus(status);
    const time = formatTime(c.created_at);
    const preview = thumbs.has(c.id) ? h('img', { class: 'thumb dialog-thumb', src: thumbs.get(c.id), alt: '', width: '160', height: '90' }) : null;
    const yes = await confirmDialog({ id: 'capture-delete-dialog', title: 'captures.delete_one_title', text: 'captures.delete_one_text', args: { time, size: formatBytes(c.size) }, confirm: 'captures.delete', danger: true, extra: preview });
    if (!yes) {
      showStatus(status, 'info', 'captures.cancelled');
      return;
    }
    btn.disabled = true;
    try {
      await request('DELETE', itemUrl(c.id), { confirm: true });
      showStatus(status, 'ok', 'captures.deleted_one', { time });
    } catch (e) {
      if (e.status === 404) showStatus(status, 'error', 'captures.gone');
      else showError(status, e, h('p', { i18n: 'captures.delete_failed' }));
    }
    await reload();
    keepFocus();
  }

  function row(c) {
    const time = formatTime(c.created_at);
    const thumbCell = h('td', { class: 'thumb-cell', 'data-id': c.id });
    const link = h('a', { href: itemUrl(c.id), download: fileName(c), class: 'capture-download', id: 'capture-download-' + c.id },
      h('span', { i18n: 'captures.download' }), h('span', { class: 'visually-hidden', text: ` (${t('captures.of_time', { time })})` }));
    const cells = [
      h('th', { scope: 'row', class: 'capture-time', text: time }),
      thumbCell,
      h('td', { class: 'capture-size', text: formatBytes(c.size) }),
      h('td', null, link),
    ];
    if (isAdmin) {
      const del = h('button', { type: 'button', class: 'danger capture-delete', id: 'capture-delete-' + c.id },
        h('span', { i18n: 'captures.delete' }), h('span', { class: 'visually-hidden', text: ` (${t('captures.of_time', { time })})` }));
      del.addEventListener('click', () => deleteOne(c, del));
      cells.push(h('td', null, del));
    }
    if (thumbs.has(c.id)) loadThumb(c, thumbCell);
    else if (observer) observer.observe(thumbCell);
    else setTimeout(() => loadThumb(c, thumbCell), 0); // once the row is in the page
    return h('tr', { 'data-id': c.id }, cells);
  }

  function redraw() {
    if (!present) {
      listTitle.hidden = true;
      summary.hidden = true;
      tableWrap.hidden = true;
      return;
    }
    if (observer) observer.disconnect();
    const total = list.reduce((n, c) => n + c.size, 0);
    summary.hidden = false;
    if (list.length) {
      summary.textContent = t('captures.summary', { count: list.length, size: formatBytes(total) });
      summary.setAttribute('data-count', String(list.length));
    } else {
      summary.textContent = t('captures.empty');
      summary.setAttribute('data-count', '0');
    }
    tableWrap.hidden = list.length === 0;
    tbody.replaceChildren(...list.map(row));
    delAllBtn.disabled = list.length === 0;
  }

  saveBtn.addEventListener('click', async () => {
    hideStatus(status);
    saveBtn.disabled = true;
    try {
      const c = await api.post(LIST_URL, {});
      if (validCapture(c)) showStatus(status, 'ok', 'captures.saved', { time: formatTime(c.created_at), size: formatBytes(c.size) });
      else showStatus(status, 'ok', 'captures.saved_plain');
      await reload();
    } catch (e) {
      // too_large is also a firmware-upload code; for a capture it means the picture itself.
      if (e.code === 'too_large') showStatus(status, 'error', 'captures.too_large', null, h('p', { i18n: 'captures.save_failed' }));
      else showError(status, e, h('p', { i18n: 'captures.save_failed' }));
    } finally {
      saveBtn.disabled = false;
    }
  });

  delAllBtn.addEventListener('click', async () => {
    hideStatus(status);
    const yes = await confirmDialog({ id: 'capture-delete-all-dialog', title: 'captures.delete_all_title', text: 'captures.delete_all_text', args: { count: list.length }, confirm: 'captures.delete_all', danger: true });
    if (!yes) {
      showStatus(status, 'info', 'captures.cancelled');
      return;
    }
    delAllBtn.disabled = true;
    try {
      const r = await request('DELETE', LIST_URL, { confirm: true });
      const n = r && Number.isFinite(r.deleted) ? r.deleted : list.length;
      showStatus(status, 'ok', 'captures.deleted_all', { count: n });
    } catch (e) {
      showError(status, e, h('p', { i18n: 'captures.delete_failed' }));
    }
    await reload();
    keepFocus();
  });

  current = { redraw };
  redraw();
  const tools = isAdmin
    ? h('div', { class: 'actions', id: 'captures-actions' }, saveBtn, delAllBtn)
    : (present ? h('p', { class: 'hint', id: 'captures-viewer-note', i18n: 'captures.viewer_note' }) : null);
  return page('captures.title', h('p', { class: 'lead', i18n: 'captures.intro' }), tools, status,
    listTitle, summary, tableWrap);
}
