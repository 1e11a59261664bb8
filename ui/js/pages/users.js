// pages/users.js — users and roles (admin only): list, create (the password policy applies), change
// role, delete with confirmation. The server refuses removing the last admin. Passwords are write-only.
// Integration accounts (recorders, ONVIF clients; viewer role): list, create and rotate (the camera's secret is
// shown once, to copy into the recorder), delete. docs/integrations.md.
import { api, request } from '../api.js';
import { confirmDialog, field, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { formatTime } from '../i18n.js';
import { reasonList } from './password.js';

const ROLES = ['admin', 'operator', 'viewer'];

function roleSelect(id, value) {
  return h('select', { id }, ROLES.map((r) => h('option', { value: r, i18n: 'role.' + r, selected: r === value })));
}

function userName(u) {
  return String(u.username || u.name || '');
}

export async function render(ctx) {
  const status = statusBox('users-status');
  const tbody = h('tbody', { id: 'users-rows' });
  const table = h('table', { class: 'table', id: 'users-table' },
    h('caption', { i18n: 'users.caption' }),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', i18n: 'users.name' }), h('th', { scope: 'col', id: 'users-col-role', i18n: 'users.role' }),
      h('th', { scope: 'col', i18n: 'users.password' }), h('th', { scope: 'col', i18n: 'users.actions' }))),
    tbody);

  async function load() {
    let list;
    try {
      const r = await api.get('/api/v1/users');
      list = Array.isArray(r) ? r : (r && Array.isArray(r.users) ? r.users : []);
    } catch (e) {
      showError(status, e);
      return;
    }
    tbody.replaceChildren(...list.map((u) => {
      const name = userName(u);
      const sel = roleSelect('role-' + name, u.role);
      sel.setAttribute('aria-labelledby', `users-col-role user-${name}`);
      const save = h('button', { type: 'button', class: 'secondary', i18n: 'users.save_role' });
      save.addEventListener('click', async () => {
        hideStatus(status);
        try {
          await api.patch(`/api/v1/users/${encodeURIComponent(name)}`, { role: sel.value });
          showStatus(status, 'ok', 'users.role_saved', { user: name });
        } catch (e) {
          showError(status, e);
        }
      });
      const del = h('button', { type: 'button', class: 'danger', i18n: 'users.delete', disabled: name === ctx.session.username });
      del.addEventListener('click', async () => {
        const yes = await confirmDialog({ id: 'user-delete-dialog', title: 'users.delete_title', text: 'users.delete_text', args: { user: name }, confirm: 'users.delete', danger: true });
        if (!yes) return;
        try {
          await api.del(`/api/v1/users/${encodeURIComponent(name)}`);
          showStatus(status, 'ok', 'users.deleted', { user: name });
          await load();
        } catch (e) {
          showError(status, e);
        }
      });
      const pwState = u.password_change_required ? 'users.pw_must_change' : 'common.set';
      return h('tr', { 'data-user': name },
        h('th', { scope: 'row', id: 'user-' + name, text: name }),
        h('td', null, sel),
        h('td', { i18n: pwState }),
        h('td', null, h('div', { class: 'row-actions' }, save, del)));
    }));
  }

  const nName = field({ id: 'new-user-name', label: 'users.name', hint: 'users.name_hint', attrs: { autocomplete: 'off', required: true, maxlength: '32', pattern: '[a-z0-9._-]{1,32}', autocapitalize: 'none', spellcheck: 'false' } });
  const nRole = field({ id: 'new-user-role', label: 'users.role', element: roleSelect('new-user-role', 'viewer') });
  const nPass = field({ id: 'new-user-password', label: 'users.initial_password', type: 'password', hint: 'users.password_hint', attrs: { autocomplete: 'new-password', required: true, maxlength: '256' } });
  const createStatus = statusBox('user-create-status');
  const createBtn = h('button', { type: 'submit', class: 'primary', id: 'new-user-submit', i18n: 'users.create' });
  const form = h('form', { id: 'user-create-form', class: 'card narrow', novalidate: true },
    h('h2', { i18n: 'users.create_title' }), createStatus, nName.wrap, nRole.wrap, nPass.wrap, h('div', { class: 'actions' }, createBtn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(createStatus);
    const name = nName.input.value.trim();
    if (!/^[a-z0-9._-]{1,32}$/.test(name)) {
      showStatus(createStatus, 'error', 'users.name_invalid');
      nName.input.focus();
      return;
    }
    createBtn.disabled = true;
    try {
      await api.post('/api/v1/users', { username: name, password: nPass.input.value, role: nRole.input.value });
      nPass.input.value = '';
      nName.input.value = '';
      showStatus(createStatus, 'ok', 'users.created', { user: name });
      await load();
    } catch (e) {
      if (e.code === 'password_policy') {
        const reasons = Array.isArray(e.body.reasons) ? e.body.reasons.map(String) : [];
        showStatus(createStatus, 'error', 'password.refused', null, reasonList('user-create-reasons', reasons));
      } else showError(createStatus, e);
    } finally {
      createBtn.disabled = false;
    }
  });

  const integ = await integrationsSection();
  await load();
  return page('users.title', h('p', { class: 'lead', i18n: 'users.intro' }), status, h('div', { class: 'table-wrap' }, table), form, integ);
}

// The secret, shown once after create or rotate: never stored by the page, gone on the next load.
function secretBox(name, secret) {
  const out = h('output', { id: 'integ-secret', class: 'secret', text: secret });
  const copy = h('button', { type: 'button', class: 'secondary', id: 'integ-secret-copy', i18n: 'integ.copy' });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(secret);
      copy.setAttribute('data-copied', 'true');
    } catch (e) {
      // no clipboard (not a secure context or refused): the text stays selectable
      const r = document.createRange();
      r.selectNodeContents(out);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
    }
  });
  return h('div', { class: 'card secret-once', id: 'integ-secret-box' },
    h('p', { i18n: 'integ.secret_once', i18nArgs: { user: name } }),
    h('p', null, h('code', { text: name }), ' : ', out),
    h('div', { class: 'actions' }, copy),
    h('p', { class: 'hint', i18n: 'integ.copy_hint' }));
}

async function integrationsSection() {
  const status = statusBox('integ-status');
  const shown = h('div', { id: 'integ-secret-slot' });
  const tbody = h('tbody', { id: 'integ-rows' });
  const table = h('table', { class: 'table', id: 'integ-table' },
    h('caption', { i18n: 'integ.caption' }),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', i18n: 'users.name' }), h('th', { scope: 'col', i18n: 'users.role' }),
      h('th', { scope: 'col', i18n: 'integ.last_used' }), h('th', { scope: 'col', i18n: 'users.actions' }))),
    tbody);

  function when(t) {
    return t ? formatTime(t) : null;
  }

  async function load() {
    let list = [];
    try {
      const r = await api.get('/api/v1/integrations');
      list = r && Array.isArray(r.integrations) ? r.integrations : [];
    } catch (e) {
      showError(status, e);
      return;
    }
    tbody.replaceChildren(...list.map((u) => {
      const name = userName(u);
      const rot = h('button', { type: 'button', class: 'secondary', i18n: 'integ.rotate', 'data-action': 'rotate' });
      rot.addEventListener('click', async () => {
        const yes = await confirmDialog({ id: 'integ-rotate-dialog', title: 'integ.rotate_title', text: 'integ.rotate_text', args: { user: name }, confirm: 'integ.rotate' });
        if (!yes) return;
        hideStatus(status);
        try {
          const r = await request('POST', `/api/v1/integrations/${encodeURIComponent(name)}/rotate`, null);
          shown.replaceChildren(secretBox(name, String(r.secret || '')));
          showStatus(status, 'ok', 'integ.rotated', { user: name });
          await load();
        } catch (e) {
          showError(status, e);
        }
      });
      const del = h('button', { type: 'button', class: 'danger', i18n: 'users.delete', 'data-action': 'delete' });
      del.addEventListener('click', async () => {
        const yes = await confirmDialog({ id: 'integ-delete-dialog', title: 'integ.delete_title', text: 'integ.delete_text', args: { user: name }, confirm: 'users.delete', danger: true });
        if (!yes) return;
        try {
          await api.del(`/api/v1/integrations/${encodeURIComponent(name)}`);
          shown.replaceChildren();
          showStatus(status, 'ok', 'integ.deleted', { user: name });
          await load();
        } catch (e) {
          showError(status, e);
        }
      });
      const used = when(u.last_used_at);
      return h('tr', { 'data-integration': name },
        h('th', { scope: 'row', text: name }),
        h('td', { i18n: 'role.viewer' }),
        used ? h('td', { text: used }) : h('td', { i18n: 'integ.never' }),
        h('td', null, h('div', { class: 'row-actions' }, rot, del)));
    }));
  }

  const nName = field({ id: 'new-integ-name', label: 'users.name', hint: 'users.name_hint', attrs: { autocomplete: 'off', required: true, maxlength: '32', pattern: '[a-z][a-z0-9._-]{0,31}', autocapitalize: 'none', spellcheck: 'false' } });
  const createStatus = statusBox('integ-create-status');
  const createBtn = h('button', { type: 'submit', class: 'primary', id: 'new-integ-submit', i18n: 'integ.create' });
  const form = h('form', { id: 'integ-create-form', class: 'card narrow', novalidate: true },
    h('h3', { i18n: 'integ.create_title' }), createStatus, nName.wrap, h('div', { class: 'actions' }, createBtn));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(createStatus);
    const name = nName.input.value.trim();
    if (!/^[a-z][a-z0-9._-]{0,31}$/.test(name)) {
      showStatus(createStatus, 'error', 'users.name_invalid');
      nName.input.focus();
      return;
    }
    createBtn.disabled = true;
    try {
      const r = await api.post('/api/v1/integrations', { name });
      nName.input.value = '';
      shown.replaceChildren(secretBox(name, String(r.secret || '')));
      showStatus(createStatus, 'ok', 'integ.created', { user: name });
      await load();
    } catch (e) {
      showError(createStatus, e);
    } finally {
      createBtn.disabled = false;
    }
  });

  await load();
  return h('section', { id: 'integrations', 'aria-labelledby': 'integ-title' },
    h('h2', { id: 'integ-title', i18n: 'integ.title' }),
    h('p', { class: 'lead', i18n: 'integ.intro' }), status, shown,
    h('div', { class: 'table-wrap' }, table), form);
}
