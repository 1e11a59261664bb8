// pages/events.js — the security audit log (admin) with type and time filters, newest first
// (GET /api/v1/events?type=&since=&until=&limit=). Event fields are shown as text, never as markup.
import { api } from '../api.js';
import { h, page, showError, showStatus, statusBox, hideStatus } from '../dom.js';
import { formatTime, has, onLangChange, tx } from '../i18n.js';

// Times are formatted in the language of the moment: a language switch formats them again (the rows are
// not i18n keys, so apply() alone would keep the first language's date format).
onLangChange(() => {
  for (const el of document.querySelectorAll('#events-rows td[data-time]')) {
    el.textContent = formatTime(Number(el.getAttribute('data-time')));
  }
});

export const EVENT_TYPES = ['login_success', 'login_failure', 'lockout', 'session_end', 'password_change', 'user_create',
  'user_update', 'user_delete', 'config_change', 'process_restart', 'protocol_violation', 'update_install',
  'update_refused', 'stream_error', 'data_delete', 'factory_reset', 'device_start', 'sandbox_violation',
  'connection_flood', 'log_truncated', 'log_chained', 'log_tampered', 'integration_create', 'integration_rotate',
  'integration_delete', 'motion', 'link_connected', 'link_disconnected', 'link_refused', 'link_tls_refused',
  'link_upload_failed', 'link_queue_dropped', 'link_retention', 'link_delete'];

function toUnix(value) {
  if (!value) return 0;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

// The daemon writes details either as key=value pairs (with a few bare flags), e.g.
// "surface=web password_change_required", or as free text ("privacy notice settings"). Known keys and
// values are translated; anything else is shown as logged. Free text is marked as raw (untranslated).
const TOKEN = /^[a-z][a-z0-9_]{0,31}(=[^\s=]{0,128})?$/;

// The text key of a detail's value: its own ("detail.value.reason.logout"), one shared by every key
// ("detail.value.online"), or for a role the role's name ("role.viewer"); null when there is none (the value
// is then shown as logged). `known` tells whether a text key exists.
export function detailValueKey(key, value, known = has) {
  for (const k of [`detail.value.${key}.${value}`, `detail.value.${value}`, key === 'role' ? `role.${value}` : null]) {
    if (k && known(k)) return k;
  }
  return null;
}

// Free-text details the daemon writes (lib/http/routes_settings.c), translated: the phrase by its key, the
// setting names after it kept as the names they are (code).
export const DETAIL_PHRASES = [
  ['privacy notice settings', 'detail.phrase.privacy_settings'],
  ['stream settings:', 'detail.phrase.stream_settings'],
  ['update settings:', 'detail.phrase.update_settings'],
  ['security settings:', 'detail.phrase.security_settings'],
];

function phraseCell(text) {
  for (const [phrase, key] of DETAIL_PHRASES) {
    if (!text.startsWith(phrase)) continue;
    const rest = text.slice(phrase.length).split(/\s+/).filter(Boolean);
    if (!rest.every((n) => /^[a-z][a-z0-9_]{0,31}$/.test(n))) return null;
    const parts = [h('span', { i18n: key })];
    rest.forEach((n, i) => parts.push(i ? ', ' : ': ', h('code', { text: n })));
    return h('td', { class: 'detail', title: text }, ...parts);
  }
  return null;
}

function detailCell(detail) {
  const text = String(detail || '');
  const tokens = text.split(/\s+/).filter(Boolean);
  const structured = tokens.length > 0 && tokens.every((t) => TOKEN.test(t) && (t.includes('=') || has('detail.flag.' + t)));
  if (!structured) {
    if (!text) return h('td', { class: 'detail' });
    const known = phraseCell(text);
    if (known) return known;
    return h('td', { class: 'detail' }, h('span', { class: 'raw-badge', i18n: 'events.raw' }), ' ',
      h('span', { class: 'raw', lang: 'en', text }));
  }
  const parts = [];
  for (const t of tokens) {
    if (parts.length) parts.push('; ');
    const eq = t.indexOf('=');
    if (eq < 0) {
      parts.push(h('span', { i18n: 'detail.flag.' + t }));
      continue;
    }
    const key = t.slice(0, eq);
    const value = t.slice(eq + 1);
    const vk = detailValueKey(key, value);
    parts.push(has('detail.key.' + key) ? h('span', { i18n: 'detail.key.' + key }) : h('code', { text: key }), ': ',
      vk ? h('span', { i18n: vk }) : h('code', { text: value }));
  }
  return h('td', { class: 'detail', title: text }, ...parts);
}

export async function render() {
  const status = statusBox('events-status');
  // the audit chain's status as the camera last verified it (docs/audit.md): a broken chain is shown first
  const chain = statusBox('events-chain');
  const type = h('select', { id: 'ev-type', name: 'type' }, h('option', { value: '', i18n: 'events.all_types' }),
    EVENT_TYPES.map((tname) => h('option', { value: tname, i18n: 'event.' + tname })));
  const since = h('input', { type: 'datetime-local', id: 'ev-since', name: 'since' });
  const until = h('input', { type: 'datetime-local', id: 'ev-until', name: 'until' });
  const limit = h('select', { id: 'ev-limit', name: 'limit' }, [50, 100, 500, 1000].map((n) => h('option', { value: String(n), text: String(n), selected: n === 100 })));
  const apply = h('button', { type: 'submit', class: 'primary', id: 'ev-apply', i18n: 'events.apply' });
  const filters = h('form', { id: 'events-filter', class: 'card filters' },
    h('div', { class: 'field' }, h('label', { for: 'ev-type', i18n: 'events.type' }), type),
    h('div', { class: 'field' }, h('label', { for: 'ev-since', i18n: 'events.since' }), since),
    h('div', { class: 'field' }, h('label', { for: 'ev-until', i18n: 'events.until' }), until),
    h('div', { class: 'field' }, h('label', { for: 'ev-limit', i18n: 'events.limit' }), limit),
    h('div', { class: 'actions' }, apply));
  const tbody = h('tbody', { id: 'events-rows' });
  const count = h('p', { id: 'events-count', class: 'hint', 'aria-live': 'polite' });
  const table = h('table', { class: 'table', id: 'events-table' },
    h('caption', { i18n: 'events.caption' }),
    h('thead', null, h('tr', null, ['time', 'type', 'actor', 'source', 'detail'].map((c) => h('th', { scope: 'col', i18n: 'events.col_' + c })))),
    tbody);

  // A check made at start counts the entries of that moment, not the ones written since: say when it was made,
  // and let the admin walk the chain now (GET /api/v1/events/verify, which also becomes the kept status).
  function showChain(c, checkedAt) {
    const when = formatTime(typeof checkedAt === 'number' ? checkedAt : (c && c.checked_at));
    if (c && c.status === 'broken') {
      showStatus(chain, 'error', 'events.chain_broken', { id: String(c.first_bad_id), reason: String(c.reason) });
    } else if (c && c.status === 'intact') {
      showStatus(chain, 'ok', 'events.chain_intact', { n: String(c.events), time: when });
    } else {
      hideStatus(chain);
    }
  }
  const verify = h('button', { type: 'button', id: 'events-verify', i18n: 'events.verify' });
  verify.addEventListener('click', async () => {
    verify.disabled = true;
    try {
      showChain(await api.get('/api/v1/events/verify'), Math.floor(Date.now() / 1000));
    } catch (e) {
      showError(status, e);
    } finally {
      verify.disabled = false;
    }
  });

  async function load() {
    hideStatus(status);
    const q = new URLSearchParams();
    if (type.value) q.set('type', type.value);
    const s = toUnix(since.value);
    const u = toUnix(until.value);
    if (s) q.set('since', String(s));
    if (u) q.set('until', String(u));
    q.set('limit', limit.value);
    let list;
    let r;
    try {
      r = await api.get('/api/v1/events?' + q.toString());
      list = Array.isArray(r) ? r : (r && Array.isArray(r.events) ? r.events : []);
    } catch (e) {
      showError(status, e);
      return;
    }
    showChain(r && r.chain);
    tbody.replaceChildren(...list.map((ev) => h('tr', null,
      typeof ev.time === 'number' ? h('td', { class: 'ev-time', 'data-time': String(ev.time), text: formatTime(ev.time) })
        : h('td', { text: String(ev.time_text || '') }),
      h('td', has('event.' + ev.type) ? { i18n: 'event.' + ev.type } : { text: String(ev.type) }),
      h('td', { text: String(ev.actor || '') }),
      h('td', { text: String(ev.source || '') }),
      detailCell(ev.detail))));
    tx(count, 'events.count', { n: list.length });
    if (!list.length) showStatus(status, 'info', 'events.none');
  }
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  await load();
  return page('events.title', h('p', { class: 'lead', i18n: 'events.intro' }), chain,
    h('p', { class: 'actions' }, verify), filters, status, count, h('div', { class: 'table-wrap' }, table));
}
