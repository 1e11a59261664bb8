// pages/firmware.js — firmware (admin): running and other slot's versions, end of support, upload of a
// signed bundle with progress (POST /api/v1/system/update, verified on the camera before anything is
// written), the online check with an Install button for what it found (the admin's approval, POST
// /api/v1/system/update/apply) and the online update settings (GET/PUT /api/v1/settings/update).
// QCVN 135 G2, G3 / EN 303 645 5.3. Says so when the firmware lacks a part.
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
  let initial = null;
  try {
    initial = await api.get('/api/v1/system/update');
    updateStateText(stateLine, initial);
  } catch (e) {
    if (e.status === 404) updateApi = false;
    else updateStateText(stateLine, null);
  }
  if (!updateApi) {
    showStatus(upStatus, 'info', 'firmware.upload_not_available');
    upBtn.disabled = true;
    fileInput.disabled = true;
  }

  // The state line from the camera's own record; the record, for the caller to act on.
  async function readState() {
    const st = await api.get('/api/v1/system/update');
    updateStateText(stateLine, st);
    return st;
  }

  // Follow an install to its verdict, shown in `box` (the upload's or the online check's status).
  async function poll(box = upStatus) {
    try {
      const st = await readState();
      if (st && (st.state === 'verifying' || st.state === 'installing' || st.state === 'receiving')) {
        pollTimer = setTimeout(() => poll(box), 1000);
      } else if (st && st.state === 'failed') {
        showStatus(box, 'error', 'firmware.install_failed');
      } else if (st && (st.state === 'installed' || st.state === 'pending_reboot' || st.state === 'done')) {
        showStatus(box, 'ok', 'firmware.install_ok');
      }
    } catch (_) {
      pollTimer = setTimeout(() => poll(box), 2000); // the camera may be restarting into the new slot
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
      if (e.status === 404) {
        showStatus(upStatus, 'info', 'firmware.upload_not_available');
      } else {
        showError(upStatus, e);
        // the refusal is in the camera's record: the state line says so (it kept "No update in progress")
        await readState().catch(() => {});
      }
    } finally {
      upBtn.disabled = false;
    }
  });

  // Online check, and the admin's approval of what it found.
  const checkStatus = statusBox('fw-check-status');
  const checkBtn = h('button', { type: 'button', class: 'secondary', id: 'fw-check', i18n: 'firmware.check' });
  const applyBtn = h('button', { type: 'button', class: 'primary', id: 'fw-apply', i18n: 'firmware.apply', hidden: true });
  let found = null;
  function offer(version) {
    found = version ? String(version) : null;
    applyBtn.hidden = !found;
  }
  const latest = initial && initial.online && initial.online.latest;
  if (latest && latest.available && latest.version) {
    offer(latest.version);
    showStatus(checkStatus, 'ok', 'firmware.check_available', { version: String(latest.version) });
  }
  // The settings are read first: without the vendor's CA the online check cannot be turned on at all,
  // so "Check now" must not suggest turning it on.
  const settings = await updateSettingsCard();
  const noCa = !!(settings.cur && settings.cur.ca_installed === false && !settings.cur.online_enabled);
  checkBtn.addEventListener('click', async () => {
    hideStatus(checkStatus);
    checkBtn.disabled = true;
    try {
      const r = await api.post('/api/v1/system/update/check', {});
      if (r && r.available) {
        offer(r.version || '?');
        showStatus(checkStatus, 'ok', 'firmware.check_available', { version: String(r.version || '?') });
      } else {
        offer(null);
        showStatus(checkStatus, 'ok', 'firmware.check_none');
      }
    } catch (e) {
      offer(null);
      if (e.status === 404) showStatus(checkStatus, 'info', 'firmware.check_not_available');
      else if (noCa && e.code === 'not_configured') showStatus(checkStatus, 'info', 'firmware.check_no_ca');
      else showError(checkStatus, e);
    } finally {
      checkBtn.disabled = false;
    }
  });
  applyBtn.addEventListener('click', async () => {
    if (!found) return;
    const version = found;
    const yes = await confirmDialog({ id: 'fw-apply-confirm', title: 'firmware.apply_confirm_title', text: 'firmware.apply_confirm_text', args: { version }, confirm: 'firmware.apply' });
    if (!yes) return;
    hideStatus(checkStatus);
    applyBtn.disabled = true;
    checkBtn.disabled = true;
    try {
      const r = await api.post('/api/v1/system/update/apply', {});
      showStatus(checkStatus, 'info', 'firmware.apply_started', { version: String((r && r.version) || version) });
      offer(null);
      poll(checkStatus);
    } catch (e) {
      showError(checkStatus, e);
    } finally {
      applyBtn.disabled = false;
      checkBtn.disabled = false;
    }
  });

  return page('firmware.title', h('p', { class: 'lead', i18n: 'firmware.intro' }), status,
    h('div', { class: 'card' }, dl(facts), h('p', { class: 'hint', i18n: 'firmware.support_hint' })),
    upForm,
    h('div', { class: 'card narrow' }, h('h2', { i18n: 'firmware.check_title' }), h('p', { i18n: 'firmware.check_intro' }), checkStatus, h('div', { class: 'actions' }, checkBtn, applyBtn)),
    settings.card);
}

// The online update settings (admin): check on/off, the server's https:// address, automatic install.
// The manufacturer's CA is installed at the factory and cannot be changed here.
async function updateSettingsCard() {
  const status = statusBox('fw-settings-status');
  const title = h('h2', { id: 'fw-settings-title', i18n: 'firmware.settings_title' });
  let cur;
  try {
    cur = await api.get('/api/v1/settings/update');
  } catch (e) {
    if (e.status === 404) showStatus(status, 'info', 'common.not_available');
    else showError(status, e);
    return { card: h('div', { class: 'card narrow', id: 'fw-settings' }, title, status), cur: null };
  }
  const enabled = h('input', { type: 'checkbox', id: 'fw-online', name: 'online_enabled', role: 'switch', checked: !!cur.online_enabled, 'aria-describedby': 'fw-online-hint' });
  const url = h('input', { type: 'text', inputmode: 'url', id: 'fw-url', name: 'server_url', value: String(cur.server_url || ''), placeholder: 'https://', maxlength: '255', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'fw-url-hint' });
  const auto = h('input', { type: 'checkbox', id: 'fw-auto', name: 'auto_install', role: 'switch', checked: !!cur.auto_install, 'aria-describedby': 'fw-auto-hint' });
  const inputs = { online_enabled: enabled, server_url: url, auto_install: auto };
  const save = h('button', { type: 'submit', class: 'primary', id: 'fw-settings-save', i18n: 'settings.save' });
  const form = h('form', { id: 'fw-settings-form', novalidate: true },
    h('div', { class: 'field inline' }, enabled, h('label', { for: 'fw-online', i18n: 'firmware.online_enabled' }),
      h('p', { id: 'fw-online-hint', class: 'hint', i18n: 'firmware.online_enabled_hint' })),
    h('div', { class: 'field' }, h('label', { for: 'fw-url', i18n: 'firmware.server_url' }), url,
      h('p', { id: 'fw-url-hint', class: 'hint', i18n: 'firmware.server_url_hint' })),
    h('div', { class: 'field inline' }, auto, h('label', { for: 'fw-auto', i18n: 'firmware.auto_install' }),
      h('p', { id: 'fw-auto-hint', class: 'hint', i18n: 'firmware.auto_install_hint' })),
    h('div', { class: 'actions' }, save));
  const caNote = cur.ca_installed === false ? h('p', { class: 'note', id: 'fw-ca-missing', i18n: 'firmware.ca_missing' }) : null;
  if (cur.ca_installed === false && !cur.online_enabled) {
    // Nothing here can take effect until the CA is installed at provisioning: only Save stays usable.
    enabled.disabled = true;
    url.disabled = true;
    auto.disabled = true;
    save.disabled = true;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(status);
    for (const el of Object.values(inputs)) el.removeAttribute('aria-invalid');
    const change = {};
    if (enabled.checked !== !!cur.online_enabled) change.online_enabled = enabled.checked;
    if (auto.checked !== !!cur.auto_install) change.auto_install = auto.checked;
    const u = url.value.trim();
    if (u !== String(cur.server_url || '')) {
      if (u !== '' && !/^https:\/\/[^\s?#"\\]+$/.test(u)) {
        url.setAttribute('aria-invalid', 'true');
        showStatus(status, 'error', 'firmware.url_invalid');
        url.focus();
        return;
      }
      change.server_url = u;
    }
    if (!Object.keys(change).length) {
      showStatus(status, 'info', 'settings.unchanged');
      return;
    }
    save.disabled = true;
    try {
      const r = await api.put('/api/v1/settings/update', change);
      cur = r && typeof r === 'object' ? r : { ...cur, ...change };
      showStatus(status, 'ok', 'settings.saved');
    } catch (e) {
      const f = e.body && typeof e.body.field === 'string' ? e.body.field : null;
      if (f && inputs[f]) {
        inputs[f].setAttribute('aria-invalid', 'true');
        inputs[f].focus();
      }
      if (f === 'server_url' && e.code === 'invalid_setting') showStatus(status, 'error', 'firmware.url_invalid');
      else showError(status, e);
    } finally {
      save.disabled = false;
    }
  });
  return { card: h('div', { class: 'card narrow', id: 'fw-settings' }, title,
    h('p', { i18n: 'firmware.settings_intro' }), caNote, status, form), cur };
}
