// pages/data.js — deletion of data on the camera (admin): recordings and snapshots, and a factory reset
// that erases everything (crypto-erase) back to the label's initial password. Each asks for confirmation
// and reports success or failure. QCVN 135 G9 / EN 303 645 5.11-1 (DEL-02..04). Where the firmware has no
// such endpoint yet (404), the page says the capability is not available on this firmware.
import { api, probe } from '../api.js';
import { confirmDialog, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';

const RECORDINGS_URL = '/api/v1/recordings';
const RESET_URL = '/api/v1/system/factory-reset';

// Is the endpoint there? GET never changes state: 404 = not on this firmware; anything else = present.
// Asked once per tab and firmware version (probe), so the console does not fill with 404s.
async function present(url, features, name, version) {
  if (Array.isArray(features)) return features.includes(name);
  try {
    return (await probe(url, version)).present;
  } catch (e) {
    if (e.status === 401) throw e;
    return true;
  }
}

export async function render(ctx) {
  const status = statusBox('data-status');
  let features = null;
  let version = '';
  try {
    const d = await api.get('/api/v1/device');
    if (d && Array.isArray(d.features)) features = d.features;
    if (d && d.firmware_version) version = String(d.firmware_version);
  } catch (_) { /* probe the endpoints below instead */ }
  let hasRec = false;
  let hasReset = false;
  try {
    hasRec = await present(RECORDINGS_URL, features, 'recordings_delete', version);
    hasReset = await present(RESET_URL, features, 'factory_reset', version);
  } catch (e) {
    showError(status, e);
  }

  const recStatus = statusBox('rec-status');
  const recBtn = h('button', { type: 'button', class: 'danger', id: 'rec-delete', i18n: 'data.rec_delete', disabled: !hasRec });
  if (!hasRec) showStatus(recStatus, 'info', 'common.not_available');
  recBtn.addEventListener('click', async () => {
    hideStatus(recStatus);
    const yes = await confirmDialog({ id: 'rec-confirm', title: 'data.rec_confirm_title', text: 'data.rec_confirm_text', confirm: 'data.rec_delete', danger: true });
    if (!yes) {
      showStatus(recStatus, 'info', 'data.cancelled');
      return;
    }
    recBtn.disabled = true;
    try {
      await api.del(RECORDINGS_URL);
      showStatus(recStatus, 'ok', 'data.rec_deleted');
    } catch (e) {
      if (e.status === 404) showStatus(recStatus, 'info', 'common.not_available');
      else showError(recStatus, e, h('p', { i18n: 'data.rec_failed' }));
    } finally {
      recBtn.disabled = false;
    }
  });

  const resetStatus = statusBox('reset-status');
  const resetBtn = h('button', { type: 'button', class: 'danger', id: 'reset-button', i18n: 'data.reset', disabled: !hasReset });
  if (!hasReset) showStatus(resetStatus, 'info', 'common.not_available');
  resetBtn.addEventListener('click', async () => {
    hideStatus(resetStatus);
    const yes = await confirmDialog({ id: 'reset-confirm', title: 'data.reset_confirm_title', text: 'data.reset_confirm_text', confirm: 'data.reset', danger: true });
    if (!yes) {
      showStatus(resetStatus, 'info', 'data.cancelled');
      return;
    }
    resetBtn.disabled = true;
    try {
      await api.post(RESET_URL, { confirm: true });
      showStatus(resetStatus, 'ok', 'data.reset_done');
      ctx.setSession(null);
    } catch (e) {
      resetBtn.disabled = false;
      if (e.status === 404) showStatus(resetStatus, 'info', 'common.not_available');
      else showError(resetStatus, e, h('p', { i18n: 'data.reset_failed' }));
    }
  });

  return page('data.title', h('p', { class: 'lead', i18n: 'data.intro' }), status,
    h('div', { class: 'card narrow' }, h('h2', { i18n: 'data.rec_title' }), h('p', { i18n: 'data.rec_text' }), recStatus, h('div', { class: 'actions' }, recBtn)),
    h('div', { class: 'card narrow' }, h('h2', { i18n: 'data.reset_title' }), h('p', { i18n: 'data.reset_text' }), resetStatus, h('div', { class: 'actions' }, resetBtn)));
}
