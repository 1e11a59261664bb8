// pages/linked.js — linked services (administrators only): an MQTT broker that receives the type and time of the
// camera's security events, and a WebDAV folder that receives recording segments, both over TLS and trusting only
// the CA certificate given here. API: GET/PUT /api/v1/settings/linked (docs/linked-services.md). A service object
// in a PUT replaces the stored one, so each card sends all its fields; a password left empty keeps the stored one
// (passwords are write-only: GET says password_set); {} removes the service and its password. A refusal (422
// invalid_setting with the dotted field name, nothing saved) is shown next to that field. The data-location
// declaration stays on the Privacy page; deletion on the services is on the Delete data page.
// QCVN 135 G7 / EN 303 645 5.8-2.
import { api } from '../api.js';
import { confirmDialog, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { tx } from '../i18n.js';

const SETTINGS_URL = '/api/v1/settings/linked';
const CA_FILE_MAX = 65536; // the camera's bound for a CA bundle (LINK_CA_PEM_MAX)
const RETENTION_MIN = 1;
const RETENTION_MAX = 3650;
const RETENTION_DEFAULT = 30;
const UPLOAD_DEFAULT = 'motion';

// The message shown next to a field the camera refused, by service and field name.
const FIELD_ERRORS = {
  mqtt: {
    url: 'linked.err_mqtt_url',
    ca_pem: 'linked.err_ca_pem',
    username: 'linked.err_mqtt_username',
    password: 'linked.err_password',
    topic: 'linked.err_topic',
  },
  webdav: {
    url: 'linked.err_webdav_url',
    ca_pem: 'linked.err_ca_pem',
    username: 'linked.err_webdav_username',
    password: 'linked.err_password',
    retention_days: 'linked.err_retention_days',
    upload: 'linked.err_upload',
  },
};

const UPLOAD_CHOICES = [['off', 'linked.upload_off'], ['motion', 'linked.upload_motion'], ['all', 'linked.upload_all']];

// A labelled control, a place for the camera's refusal right under it, then its hint.
function control(id, label, input, hint, extra) {
  input.id = id;
  if (!input.name) input.name = id;
  const hintId = hint ? id + '-hint' : null;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  const error = h('p', { id: id + '-error', class: 'field-error', hidden: true });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id, i18n: label }),
    input,
    error,
    hintId ? h('p', { id: hintId, class: 'hint', i18n: hint }) : null,
    extra || null);
  return { wrap, input, error, hintId };
}

function setFieldError(c, key) {
  c.input.setAttribute('aria-invalid', 'true');
  tx(c.error, key);
  c.error.hidden = false;
  c.input.setAttribute('aria-describedby', [c.hintId, c.error.id].filter(Boolean).join(' '));
  c.input.focus();
}

function clearFieldError(c) {
  c.input.removeAttribute('aria-invalid');
  c.error.hidden = true;
  c.error.replaceChildren();
  c.error.removeAttribute('data-i18n');
  if (c.hintId) c.input.setAttribute('aria-describedby', c.hintId);
  else c.input.removeAttribute('aria-describedby');
}

// One card (MQTT or WebDAV): its form, Save (PUT {name: all fields}) and Remove (PUT {name: {}}).
function serviceCard(name, stored) {
  const isMqtt = name === 'mqtt';
  let cur = stored || null;
  const status = statusBox(name + '-status');
  const state = h('p', { id: name + '-state', class: 'hint' });
  const controls = {};

  controls.url = control(name + '-url', 'linked.url',
    h('input', { type: 'text', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', maxlength: '512',
      placeholder: isMqtt ? 'mqtts://host:8883' : 'https://host/path' }),
    isMqtt ? 'linked.mqtt_url_hint' : 'linked.webdav_url_hint');

  const caFile = h('input', { type: 'file', id: name + '-ca-file', accept: '.pem,.crt,.cer,application/x-pem-file,application/x-x509-ca-cert' });
  const caFileWrap = h('div', { class: 'field file-pick' },
    h('label', { for: name + '-ca-file', i18n: 'linked.ca_file' }), caFile);
  controls.ca_pem = control(name + '-ca', 'linked.ca',
    h('textarea', { rows: '6', spellcheck: 'false', autocomplete: 'off', class: 'pem' }), 'linked.ca_hint', caFileWrap);
  caFile.addEventListener('change', async () => {
    const f = caFile.files && caFile.files[0];
    if (!f) return;
    hideStatus(status);
    clearFieldError(controls.ca_pem);
    if (f.size > CA_FILE_MAX) {
      setFieldError(controls.ca_pem, 'linked.err_ca_file_large');
      return;
    }
    try {
      controls.ca_pem.input.value = await f.text();
      showStatus(status, 'info', 'linked.ca_file_read', { name: f.name });
    } catch (_) {
      setFieldError(controls.ca_pem, 'linked.err_ca_file_read');
    }
    caFile.value = '';
  });

  controls.username = control(name + '-username', 'linked.username',
    h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: '256' }), 'linked.username_hint');

  const storedPw = h('p', { id: name + '-password-stored', class: 'note', i18n: 'linked.password_stored', hidden: true });
  controls.password = control(name + '-password', 'linked.password',
    h('input', { type: 'password', autocomplete: 'new-password', maxlength: '256' }), 'linked.password_hint', storedPw);

  if (isMqtt) {
    controls.topic = control(name + '-topic', 'linked.topic',
      h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: '256', placeholder: 'cameras/home' }), 'linked.topic_hint');
  } else {
    controls.retention_days = control(name + '-retention', 'linked.retention_days',
      h('input', { type: 'number', inputmode: 'numeric', min: RETENTION_MIN, max: RETENTION_MAX, step: 1 }), 'linked.retention_hint');
    controls.upload = control(name + '-upload', 'linked.upload',
      h('select', null, UPLOAD_CHOICES.map(([v, key]) => h('option', { value: v, i18n: key }))), 'linked.upload_hint',
      h('p', { class: 'hint' }, h('a', { href: '#/recordings', id: name + '-recordings-link', i18n: 'linked.recordings_link' })));
  }

  const save = h('button', { type: 'submit', class: 'primary', id: name + '-save', i18n: isMqtt ? 'linked.mqtt_save' : 'linked.webdav_save' });
  const remove = h('button', { type: 'button', class: 'danger', id: name + '-remove', i18n: isMqtt ? 'linked.mqtt_remove' : 'linked.webdav_remove' });

  // Show what the camera has (or the defaults when nothing is stored); the password field stays empty.
  function fill(o) {
    cur = o && typeof o === 'object' ? o : null;
    const v = cur || {};
    controls.url.input.value = typeof v.url === 'string' ? v.url : '';
    controls.ca_pem.input.value = typeof v.ca_pem === 'string' ? v.ca_pem : '';
    controls.username.input.value = typeof v.username === 'string' ? v.username : '';
    controls.password.input.value = '';
    if (isMqtt) {
      controls.topic.input.value = typeof v.topic === 'string' ? v.topic : '';
    } else {
      controls.retention_days.input.value = String(Number.isInteger(v.retention_days) ? v.retention_days : RETENTION_DEFAULT);
      controls.upload.input.value = UPLOAD_CHOICES.some(([c]) => c === v.upload) ? v.upload : UPLOAD_DEFAULT;
    }
    storedPw.hidden = !(cur && cur.password_set === true);
    tx(state, cur ? 'linked.state_on' : 'linked.state_off');
    state.setAttribute('data-state', cur ? 'configured' : 'none');
    remove.disabled = !cur;
  }
  fill(stored);

  // Read the camera's answer again (password_set, the upload default) after a change.
  async function reload() {
    try {
      const r = await api.get(SETTINGS_URL);
      fill(r && r[name]);
    } catch (_) { /* the change was saved; the fields keep what was typed */ }
  }

  function clearErrors() {
    for (const c of Object.values(controls)) clearFieldError(c);
  }

  const form = h('form', { id: name + '-form', class: 'card narrow', novalidate: true, 'aria-labelledby': name + '-title' },
    h('h2', { id: name + '-title', i18n: isMqtt ? 'linked.mqtt_title' : 'linked.webdav_title' }),
    h('p', { i18n: isMqtt ? 'linked.mqtt_text' : 'linked.webdav_text' }),
    state,
    ...Object.values(controls).map((c) => c.wrap),
    status,
    h('div', { class: 'actions' }, save, remove));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(status);
    clearErrors();
    const body = {
      url: controls.url.input.value.trim(),
      ca_pem: controls.ca_pem.input.value,
      username: controls.username.input.value,
    };
    const pw = controls.password.input.value;
    if (pw !== '') body.password = pw; // empty: the stored password is kept
    if (isMqtt) {
      body.topic = controls.topic.input.value.trim();
    } else {
      const raw = controls.retention_days.input.value.trim();
      const days = raw === '' ? NaN : Number(raw);
      if (!Number.isInteger(days) || days < RETENTION_MIN || days > RETENTION_MAX) {
        setFieldError(controls.retention_days, 'linked.err_retention_days');
        showStatus(status, 'error', 'linked.not_saved');
        return;
      }
      body.retention_days = days;
      body.upload = controls.upload.input.value;
    }
    save.disabled = true;
    try {
      await api.put(SETTINGS_URL, { [name]: body });
      await reload();
      showStatus(status, 'ok', 'linked.saved');
    } catch (e) {
      const field = e.body && typeof e.body.field === 'string' ? e.body.field : '';
      const key = field.startsWith(name + '.') ? field.slice(name.length + 1) : '';
      if (e.status === 422 && controls[key]) {
        setFieldError(controls[key], FIELD_ERRORS[name][key] || 'error.invalid_setting');
        showStatus(status, 'error', 'linked.not_saved');
      } else {
        showError(status, e);
      }
    } finally {
      save.disabled = false;
    }
  });

  remove.addEventListener('click', async () => {
    hideStatus(status);
    clearErrors();
    const yes = await confirmDialog({
      id: name + '-remove-confirm',
      title: isMqtt ? 'linked.mqtt_remove_title' : 'linked.webdav_remove_title',
      text: isMqtt ? 'linked.mqtt_remove_text' : 'linked.webdav_remove_text',
      confirm: isMqtt ? 'linked.mqtt_remove' : 'linked.webdav_remove',
      danger: true,
    });
    if (!yes) {
      showStatus(status, 'info', 'linked.cancelled');
      return;
    }
    remove.disabled = true;
    try {
      await api.put(SETTINGS_URL, { [name]: {} });
      fill(null);
      await reload();
      showStatus(status, 'ok', 'linked.removed');
    } catch (e) {
      remove.disabled = !cur;
      showError(status, e);
    }
  });

  return form;
}

export async function render() {
  const status = statusBox('linked-status');
  const intro = h('p', { class: 'lead', i18n: 'linked.intro' });
  let cur;
  try {
    cur = await api.get(SETTINGS_URL);
  } catch (e) {
    if (e.status === 404) showStatus(status, 'info', 'common.not_available');
    else showError(status, e);
    return page('linked.title', intro, status);
  }
  const facts = h('div', { class: 'card', id: 'linked-facts' },
    h('h2', { i18n: 'linked.facts_title' }),
    h('ul', { class: 'items' },
      h('li', { id: 'linked-trust', i18n: 'linked.trust' }),
      h('li', { id: 'linked-mqtt-sends', i18n: 'linked.mqtt_sends' }),
      h('li', null, h('span', { id: 'linked-location', i18n: 'linked.location' }), ' ',
        h('a', { href: '#/privacy', id: 'linked-privacy-link', i18n: 'linked.privacy_link' })),
      h('li', null, h('span', { i18n: 'linked.delete_hint' }), ' ',
        h('a', { href: '#/data', id: 'linked-data-link', i18n: 'linked.data_link' }))));
  return page('linked.title', intro, status, facts,
    serviceCard('mqtt', cur && cur.mqtt),
    serviceCard('webdav', cur && cur.webdav));
}
