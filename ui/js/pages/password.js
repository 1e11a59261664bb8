// pages/password.js — change of the signed-in user's password; forced at first login with the label's
// initial password (nothing else is reachable until it is done). The policy is previewed as the user
// types; the server decides and its reasons are shown. QCVN 135 G1 / EN 303 645 5.1-1, 5.1-2.
import { api } from '../api.js';
import { field, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { tx } from '../i18n.js';
import { CHECKLIST, previewReasons } from '../policy.js';
import { privacyState } from '../privacy-state.js';

export function reasonList(id, reasons) {
  return h('ul', { id, class: 'reasons' }, reasons.map((r) => h('li', { 'data-reason': r, i18n: 'policy.' + r })));
}

export async function render(ctx) {
  const s = ctx.session;
  const forced = !!s.password_change_required;
  // Label wording only for the label's admin account; any other user forced to change was given a
  // password by an administrator (the label admin is always "admin" with the admin role).
  const labelUser = forced && s.username === 'admin' && s.role === 'admin';
  const status = statusBox('password-status');
  const cur = field({ id: 'pw-current', label: labelUser ? 'password.current_initial' : 'password.current', type: 'password', attrs: { autocomplete: 'current-password', required: true, maxlength: '128' } });
  const next = field({ id: 'pw-new', label: 'password.new', type: 'password', hint: 'password.hint', attrs: { autocomplete: 'new-password', required: true, maxlength: '256' } });
  const again = field({ id: 'pw-confirm', label: 'password.confirm', type: 'password', attrs: { autocomplete: 'new-password', required: true, maxlength: '256' } });
  const show = h('input', { type: 'checkbox', id: 'pw-show' });
  show.addEventListener('change', () => {
    for (const i of [cur.input, next.input, again.input]) i.type = show.checked ? 'text' : 'password';
  });

  const items = {};
  const checklist = h('ul', { id: 'policy-checklist', class: 'checklist', 'aria-labelledby': 'policy-title' },
    CHECKLIST.map((code) => {
      const mark = h('span', { class: 'mark', 'aria-hidden': 'true', text: '•' });
      const state = h('span', { class: 'visually-hidden' });
      const li = h('li', { 'data-rule': code, class: 'pending' }, mark, h('span', { i18n: 'rule.' + code, i18nArgs: code === 'too_short' ? { n: 8 } : undefined }), state);
      items[code] = { li, mark, state };
      return li;
    }));

  function updateChecklist() {
    const pw = next.input.value;
    const reasons = previewReasons(pw, s.username, 8);
    for (const code of CHECKLIST) {
      const it = items[code];
      const ok = pw.length > 0 && !reasons.includes(code);
      it.li.className = pw.length === 0 ? 'pending' : (ok ? 'ok' : 'bad');
      it.mark.textContent = pw.length === 0 ? '•' : (ok ? '✓' : '✗');
      tx(it.state, pw.length === 0 ? 'rule.state_pending' : (ok ? 'rule.state_ok' : 'rule.state_bad'));
    }
  }
  next.input.addEventListener('input', updateChecklist);
  updateChecklist();

  const submit = h('button', { type: 'submit', class: 'primary', id: 'pw-submit', i18n: 'password.submit' });
  const form = h('form', { id: 'password-form', class: 'card narrow', novalidate: true },
    status, cur.wrap, next.wrap,
    h('div', { class: 'policy' }, h('h2', { id: 'policy-title', i18n: 'password.policy_title' }), checklist,
      h('p', { class: 'hint', i18n: 'password.policy_server' })),
    again.wrap,
    h('div', { class: 'field inline' }, show, h('label', { for: 'pw-show', i18n: 'password.show' })),
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(status);
    if (!cur.input.value || !next.input.value) {
      showStatus(status, 'error', 'password.missing');
      return;
    }
    if (next.input.value !== again.input.value) {
      showStatus(status, 'error', 'password.mismatch');
      again.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api.put(`/api/v1/users/${encodeURIComponent(s.username)}/password`, { current_password: cur.input.value, new_password: next.input.value }, { quiet: true });
      for (const i of [cur.input, next.input, again.input]) i.value = '';
      const fresh = await ctx.refreshSession();
      if (!fresh) {
        ctx.setFlash('password.changed_relogin', 'ok');
        ctx.navigate('login');
        return;
      }
      ctx.setFlash('password.changed', 'ok');
      const p = await privacyState(fresh, true);
      ctx.navigate(p.mustShow ? 'privacy' : 'live');
    } catch (e) {
      submit.disabled = false;
      if (e.code === 'password_policy') {
        const reasons = Array.isArray(e.body.reasons) ? e.body.reasons.map(String) : [];
        showStatus(status, 'error', 'password.refused', null, reasonList('password-reasons', reasons));
        next.input.focus();
      } else if (e.code === 'invalid_credentials' || e.code === 'wrong_password' || e.code === 'invalid_current_password') {
        showStatus(status, 'error', 'password.wrong_current');
        cur.input.focus();
      } else if (e.status === 401) {
        ctx.setFlash('login.session_ended', 'info');
        ctx.setSession(null);
        ctx.navigate('login');
      } else {
        showError(status, e);
      }
    }
  });

  const flash = ctx.takeFlash();
  if (flash) showStatus(status, flash.kind, flash.key, flash.args);
  return page(forced ? 'password.title_forced' : 'password.title',
    h('p', { class: 'lead', i18n: labelUser ? 'password.intro_forced' : (forced ? 'password.intro_forced_admin_set' : 'password.intro') }),
    form);
}

