// pages/data.js — deletion of data on the camera (admin): where captures are deleted (the Captures page), all
// recordings deleted (DELETE /api/v1/recordings {"confirm":true,"from","to"}, 1,000 per request),
// and the factory reset (POST /api/v1/system/factory-reset {"confirm":true}), which crypto-erases users,
// settings, captures, the audit log and the keys, and restarts the camera with a new TLS certificate and the
// label's initial password. The page says what is erased and what is kept, enables the button only once the
// admin has typed the confirmation word, asks again in a dialog, then says what happens next and stops
// talking to the camera (every session is gone). QCVN 135 G9 / EN 303 645 5.11-1 (DEL-02..04). This firmware
// has the endpoint: the page does not probe it (a GET on a POST-only route is a 405 in the console). Also the
// deletion of what the camera put on the linked services (POST /api/v1/linked/delete, EN 303 645 5.11-2..4).
import { api, request } from '../api.js';
import { confirmDialog, field, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { STRINGS } from '../strings.js';

const RESET_URL = '/api/v1/system/factory-reset';
const RECORDINGS_URL = '/api/v1/recordings';

// Every recording, 1,000 per request (the camera's cap), at most 100 rounds: what was deleted and what was not.
async function deleteAllRecordings() {
  let deleted = 0, failed = 0;
  for (let i = 0; i < 100; i++) {
    const r = await request('DELETE', RECORDINGS_URL, { confirm: true, from: 0, to: 253402300799 });
    deleted += r.count || 0;
    failed = (r.failed || []).length;
    if (!r.count) break;
  }
  return { deleted, failed };
}

function recordingsCard() {
  const status = statusBox('rec-delete-status');
  const btn = h('button', { type: 'button', class: 'danger', id: 'rec-delete-all', i18n: 'data.recordings_delete' });
  btn.addEventListener('click', async () => {
    hideStatus(status);
    const yes = await confirmDialog({ id: 'rec-delete-confirm', title: 'data.recordings_confirm_title', text: 'data.recordings_confirm_text', confirm: 'data.recordings_delete', danger: true });
    if (!yes) {
      showStatus(status, 'info', 'data.cancelled');
      return;
    }
    btn.disabled = true;
    try {
      const r = await deleteAllRecordings();
      showStatus(status, r.failed ? 'error' : 'ok', 'data.recordings_deleted', { deleted: r.deleted, failed: r.failed });
    } catch (e) {
      if (e.status === 404) showStatus(status, 'info', 'common.not_available');
      else showError(status, e);
    }
    btn.disabled = false;
  });
  return h('div', { class: 'card narrow', id: 'data-recordings' },
    h('h2', { i18n: 'data.recordings_title' }),
    h('p', { i18n: 'data.recordings_text' }),
    h('p', null, btn), status);
}

// Deletion of what the camera put on the linked services (POST /api/v1/linked/delete {"confirm":true}): every
// file it uploaded to the WebDAV folder and the messages the MQTT broker keeps for it. The answer lists what was
// removed and what was not, with why (what failed stays on the camera's list for a later deletion). 409
// link_not_running: no linked service is configured, so there is nothing to delete (said calmly, not as an error).
const LINKED_DELETE_URL = '/api/v1/linked/delete';
const LINKED_WHY = {
  unreachable: 'data.linked_why_unreachable',
  'broker unreachable': 'data.linked_why_unreachable',
  'certificate refused': 'data.linked_why_certificate',
  'refused by the server': 'data.linked_why_refused',
  'not configured': 'data.linked_why_not_configured',
};
const SERVICE_NAMES = { webdav: 'WebDAV', mqtt: 'MQTT' };

function failedItem(f) {
  const o = f && typeof f === 'object' ? f : {};
  const why = typeof o.why === 'string' ? o.why : '';
  return h('li', {
    i18n: 'data.linked_failed_item',
    i18nArgs: {
      service: SERVICE_NAMES[o.service] || String(o.service || '?'),
      name: String(o.name || o.topic || '?'),
      why: LINKED_WHY[why] ? { t: LINKED_WHY[why] } : why || '?',
    },
  });
}

function linkedCard() {
  const status = statusBox('linked-delete-status');
  const btn = h('button', { type: 'button', class: 'danger', id: 'linked-delete', i18n: 'data.linked_delete' });
  btn.addEventListener('click', async () => {
    hideStatus(status);
    const yes = await confirmDialog({ id: 'linked-delete-confirm', title: 'data.linked_confirm_title', text: 'data.linked_confirm_text', confirm: 'data.linked_delete', danger: true });
    if (!yes) {
      showStatus(status, 'info', 'data.cancelled');
      return;
    }
    btn.disabled = true;
    try {
      const r = await api.post(LINKED_DELETE_URL, { confirm: true });
      const removed = Array.isArray(r && r.removed) ? r.removed.length : 0;
      const failed = Array.isArray(r && r.failed) ? r.failed : [];
      showStatus(status, failed.length ? 'error' : 'ok', 'data.linked_deleted', { removed },
        failed.length ? h('div', null,
          h('p', { i18n: 'data.linked_failed', i18nArgs: { failed: failed.length } }),
          h('ul', { id: 'linked-delete-failed', class: 'items' }, failed.map(failedItem))) : null);
      status.setAttribute('data-state', failed.length ? 'partial' : 'done');
    } catch (e) {
      if (e.status === 409 && e.code === 'link_not_running') {
        showStatus(status, 'info', 'data.linked_none');
        status.setAttribute('data-state', 'none');
      } else if (e.status === 404) showStatus(status, 'info', 'common.not_available');
      else showError(status, e);
    }
    btn.disabled = false;
  });
  return h('div', { class: 'card narrow', id: 'data-linked' },
    h('h2', { i18n: 'data.linked_title' }),
    h('p', { i18n: 'data.linked_text' }),
    h('p', null, h('a', { href: '#/linked', id: 'data-linked-link', i18n: 'data.linked_link' })),
    h('p', null, btn), status);
}

// The confirmation word of either language, compared without case or Vietnamese diacritics ("xóa" = XOA),
// so switching the language after reading the instruction does not trip the admin up.
function plain(s) {
  return String(s).normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/gi, 'd').trim().toUpperCase();
}
const WORDS = new Set(Object.values(STRINGS).map((l) => plain(l['data.reset_word'])));

export function confirmWordMatches(typed) {
  return WORDS.has(plain(typed));
}

function list(id, keys) {
  return h('ul', { id, class: 'items' }, keys.map((k) => h('li', { i18n: k })));
}

export async function render(ctx) {
  const status = statusBox('data-status');
  const hasReset = true; /* POST /api/v1/system/factory-reset is part of this firmware */

  const resetStatus = statusBox('reset-status');
  resetStatus.setAttribute('tabindex', '-1');
  const word = field({ id: 'reset-word', label: 'data.reset_word_label', hint: 'data.reset_word_hint',
    attrs: { autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: '16', disabled: !hasReset } });
  const resetBtn = h('button', { type: 'submit', class: 'danger', id: 'reset-button', i18n: 'data.reset', disabled: true });
  if (!hasReset) showStatus(resetStatus, 'info', 'common.not_available');
  let done = false;
  const gate = () => {
    resetBtn.disabled = done || !hasReset || !confirmWordMatches(word.input.value);
  };
  word.input.addEventListener('input', gate);

  const form = h('form', { id: 'reset-form', class: 'card narrow', novalidate: true },
    h('h2', { i18n: 'data.reset_title' }),
    h('p', { i18n: 'data.reset_text' }),
    h('h3', { i18n: 'data.reset_erased_title' }),
    list('reset-erased', ['data.reset_erased_users', 'data.reset_erased_settings', 'data.reset_erased_captures',
      'data.reset_erased_audit', 'data.reset_erased_keys']),
    h('h3', { i18n: 'data.reset_kept_title' }),
    list('reset-kept', ['data.reset_kept_firmware', 'data.reset_kept_identity']),
    h('p', { class: 'note', i18n: 'data.reset_after' }),
    word.wrap,
    resetStatus,
    h('div', { class: 'actions' }, resetBtn));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    gate();
    if (resetBtn.disabled) return;
    hideStatus(resetStatus);
    const yes = await confirmDialog({ id: 'reset-confirm', title: 'data.reset_confirm_title', text: 'data.reset_confirm_text', confirm: 'data.reset', danger: true });
    if (!yes) {
      showStatus(resetStatus, 'info', 'data.cancelled');
      return;
    }
    resetBtn.disabled = true;
    try {
      await api.post(RESET_URL, { confirm: true });
    } catch (e) {
      if (e.status === 404) showStatus(resetStatus, 'info', 'common.not_available');
      else if (e.status === 0) showStatus(resetStatus, 'error', 'data.reset_unknown');
      else showError(resetStatus, e, h('p', { i18n: 'data.reset_failed' }));
      gate();
      return;
    }
    // Accepted: the camera is erasing itself. Every session is gone and it comes back with another
    // certificate, so this page asks it nothing more; the admin reopens the address when it is back.
    done = true;
    word.input.disabled = true;
    gate();
    showStatus(resetStatus, 'ok', 'data.reset_started', null,
      h('div', null,
        h('ol', { id: 'reset-next', class: 'items' }, ['data.reset_next_1', 'data.reset_next_2', 'data.reset_next_3'].map((k) => h('li', { i18n: k }))),
        h('p', null, h('a', { href: '/', id: 'reset-login-link', i18n: 'data.reset_login_link' }))));
    resetStatus.setAttribute('data-state', 'resetting');
    if (ctx.clearSession) ctx.clearSession();
    else ctx.setSession(null);
    resetStatus.focus();
  });

  return page('data.title', h('p', { class: 'lead', i18n: 'data.intro' }), status,
    h('div', { class: 'card narrow', id: 'data-captures' },
      h('h2', { i18n: 'data.captures_title' }),
      h('p', { i18n: 'data.captures_text' }),
      h('p', null, h('a', { href: '#/captures', id: 'data-captures-link', i18n: 'data.captures_link' }))),
    recordingsCard(),
    linkedCard(),
    form);
}
