// pages/firmware.js — firmware (admin): running and other slot's versions, end of support, upload of a
// signed bundle with progress (POST /api/v1/system/update, verified on the camera before anything is
// written) and the online check. QCVN 135 G2, G3 / EN 303 645 5.3. Says so when the firmware lacks a part.
import { api, upload } from '../api.js';
import { confirmDialog, formatBytes, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { has, tx } from '../i18n.js';

let pollTimer = null;

export function leave() {
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

function slotsOf(d) {
  if (Array.isArray(d.slots)) return d.slots;
  if (d.slots && typeof d.slots === 'object') {
    return Object.entries(d.slots).map(([name, v]) => ({ name, ...(typeof v === 'object' ? v : { version: v }) }));
  }
  return [];
}

function dl(rows) {
  return h('dl', { class: 'facts' }, rows.flatMap(([key, value, id]) => [h('dt', { i18n: key }), h('dd', { id, text: value })]));
}

function updateStateText(el, st) {
  if (!st || !st.state) { tx(el, 'firmware.state_idle'); return; }
  const key = 'firmware.state_' + st.state;
  if (st.reason) {
    const rk = 'error.' + st.reason;
    el.removeAttribute('data-i18n');
    el.replaceChildren(h('span', { i18n: has(key) ? key : 'firmware.state_other', i18nArgs: { state: String(st.state) } }), ' ',
      h('span', { i18n: has(rk) ? rk : 'error.unknown', i18nArgs: { code: String(st.reason) } }));
    return;
  }
  tx(el, has(key) ? key : 'firmware.state_other', { state: String(st.state), version: String(st.version || '') });
}

export async function render(ctx) {
  leave();
  const status = statusBox('firmware-status');
  let d = {};
  try {
    d = await api.get('/api/v1/device');
  } catch (e) {
    showError(status, e);
  }
  const slots = slotsOf(d);
  const facts = [['firmware.current', String(d.firmware_version || '—'), 'fw-current']];
  for (const s of slots) {
    facts.push([s.active || s.running ? 'firmware.slot_active' : 'firmware.slot_other', `${s.name || '?'}: ${s.version || '—'}`, 'fw-slot-' + String(s.name || 'x')]);
  }
  const eos = d.support_until || d.end_of_support || d.support_end;
  facts.push(['firmware.end_of_support', eos ? String(eos) : '—', 'fw-eos']);

  // Upload.
  const upStatus = statusBox('fw-upload-status');
  const fileInput = h('input', { type: 'file', id: 'fw-file', accept: '.scu,.bin,.bundle,application/octet-stream', 'aria-describedby': 'fw-file-hint' });
  const progress = h('progress', { id: 'fw-progress', max: '100', value: '0', hidden: true, 'aria-labelledby': 'fw-progress-label' });
  const progressLabel = h('p', { id: 'fw-progress-label', class: 'hint', hidden: true });
  const upBtn = h('button', { type: 'submit', class: 'primary', id: 'fw-upload', i18n: 'firmware.upload' });
  const stateLine = h('p', { id: 'fw-update-state', 'aria-live': 'polite' });
  let updateApi = true;
  try {
    updateStateText(stateLine, await api.get('/api/v1/system/update'));
  } catch (e) {
    if (e.status === 404) updateApi = false;
    else updateStateText(stateLine, null);
  }
  if (!updateApi) {
    showStatus(upStatus, 'info', 'firmware.upload_not_available');
    upBtn.disabled = true;
    fileInput.disabled = true;
  }

  async function poll() {
    try {
      const st = await api.get('/api/v1/system/update');
      updateStateText(stateLine, st);
      if (st && (st.state === 'verifying' || st.state === 'installing' || st.state === 'receiving')) {
        pollTimer = setTimeout(poll, 1000);
      } else if (st && st.state === 'failed') {
        showStatus(upStatus, 'error', 'firmware.install_failed');
      } else if (st && (st.state === 'installed' || st.state === 'pending_reboot' || st.state === 'done')) {
        showStatus(upStatus, 'ok', 'firmware.install_ok');
      }
    } catch (_) {
      pollTimer = setTimeout(poll, 2000); // the camera may be restarting into the new slot
    }
  }

  const upForm = h('form', { id: 'fw-upload-form', class: 'card narrow' },
    h('h2', { i18n: 'firmware.upload_title' }), upStatus,
    h('div', { class: 'field' }, h('label', { for: 'fw-file', i18n: 'firmware.file' }), fileInput,
      h('p', { id: 'fw-file-hint', class: 'hint', i18n: 'firmware.file_hint' })),
    progress, progressLabel,
    h('div', { class: 'actions' }, upBtn), stateLine);
  upForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(upStatus);
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      showStatus(upStatus, 'error', 'firmware.no_file');
      fileInput.focus();
      return;
    }
    const yes = await confirmDialog({ id: 'fw-confirm', title: 'firmware.confirm_title', text: 'firmware.confirm_text', args: { file: file.name, size: formatBytes(file.size) }, confirm: 'firmware.upload' });
    if (!yes) return;
    upBtn.disabled = true;
    progress.hidden = false;
    progressLabel.hidden = false;
    try {
      await upload('POST', '/api/v1/system/update', file, (loaded, total) => {
        const pct = total ? Math.floor((loaded * 100) / total) : 0;
        progress.value = pct;
        tx(progressLabel, 'firmware.progress', { pct, loaded: formatBytes(loaded), total: formatBytes(total) });
      });
      showStatus(upStatus, 'info', 'firmware.uploaded');
      poll();
    } catch (e) {
      if (e.status === 404) showStatus(upStatus, 'info', 'firmware.upload_not_available');
      else showError(upStatus, e);
    } finally {
      upBtn.disabled = false;
    }
  });

  // Online check.
  const checkStatus = statusBox('fw-check-status');
  const checkBtn = h('button', { type: 'button', class: 'secondary', id: 'fw-check', i18n: 'firmware.check' });
  checkBtn.addEventListener('click', async () => {
    hideStatus(checkStatus);
    checkBtn.disabled = true;
    try {
      const r = await api.post('/api/v1/system/update/check', {});
      if (r && r.available) showStatus(checkStatus, 'ok', 'firmware.check_available', { version: String(r.version || '?') });
      else showStatus(checkStatus, 'ok', 'firmware.check_none');
    } catch (e) {
      if (e.status === 404) showStatus(checkStatus, 'info', 'firmware.check_not_available');
      else showError(checkStatus, e);
    } finally {
      checkBtn.disabled = false;
    }
  });

  return page('firmware.title', h('p', { class: 'lead', i18n: 'firmware.intro' }), status,
    h('div', { class: 'card' }, dl(facts), h('p', { class: 'hint', i18n: 'firmware.support_hint' })),
    upForm,
    h('div', { class: 'card narrow' }, h('h2', { i18n: 'firmware.check_title' }), h('p', { i18n: 'firmware.check_intro' }), checkStatus, h('div', { class: 'actions' }, checkBtn)));
}
