// pages/users.js — users and roles (admin only): list, create (the password policy applies), change
// role, delete with confirmation. The server refuses removing the last admin. Passwords are write-only.
import { api } from '../api.js';
import { confirmDialog, field, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
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

  await load();
  return page('users.title', h('p', { class: 'lead', i18n: 'users.intro' }), status, h('div', { class: 'table-wrap' }, table), form);
}
