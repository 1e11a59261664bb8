// pages/login.js — the login form. One generic message for every failed login (the server answers
// alike for unknown users and wrong passwords); while the account is locked, the time left, counted down
// from Retry-After. QCVN 135 brute-force protection / EN 303 645 5.1-5.
import { api } from '../api.js';
import { formatDuration } from '../i18n.js';
import { field, h, hideStatus, page, showStatus, statusBox } from '../dom.js';

let timer = null;

export function leave() {
  if (timer) clearInterval(timer);
  timer = null;
}

export async function render(ctx) {
  const status = statusBox('login-status');
  const user = field({ id: 'login-username', label: 'login.username', attrs: { autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', maxlength: '64' } });
  const pass = field({ id: 'login-password', label: 'login.password', type: 'password', attrs: { autocomplete: 'current-password', required: true, maxlength: '128' } });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'login-submit', i18n: 'login.submit' });
  const form = h('form', { id: 'login-form', class: 'card narrow', novalidate: true }, status, user.wrap, pass.wrap, h('div', { class: 'actions' }, submit));

  const flash = ctx.takeFlash();
  if (flash) showStatus(status, flash.kind, flash.key, flash.args);

  function lockedCountdown(seconds) {
    leave();
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        leave();
        submit.disabled = false;
        showStatus(status, 'info', 'login.unlocked');
        return;
      }
      showStatus(status, 'error', 'login.locked', { time: formatDuration(left) });
      left -= 1;
    };
    submit.disabled = true;
    tick();
    timer = setInterval(tick, 1000);
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!user.input.value || !pass.input.value) {
      showStatus(status, 'error', 'login.missing');
      (user.input.value ? pass.input : user.input).focus();
      return;
    }
    submit.disabled = true;
    hideStatus(status);
    try {
      const r = await api.post('/api/v1/session', { username: user.input.value, password: pass.input.value }, { quiet: true });
      pass.input.value = '';
      ctx.setSession({ username: user.input.value, role: r.role, password_change_required: !!r.password_change_required, csrf_token: r.csrf_token });
      await ctx.refreshSession();
      ctx.navigate(r.password_change_required ? 'password' : ctx.returnRoute(user.input.value));
    } catch (e) {
      pass.input.value = '';
      submit.disabled = false;
      if (e.code === 'busy') {
        // the camera's password checks are at their budget (a login flood): nothing was counted, try again
        const ra = e.headers ? parseInt(e.headers.get('Retry-After') || '', 10) : NaN;
        showStatus(status, 'error', 'login.busy', { time: formatDuration(Number.isFinite(ra) && ra > 0 ? ra : 1) });
      } else if (e.status === 429 || e.code === 'locked') {
        const ra = e.headers ? parseInt(e.headers.get('Retry-After') || '', 10) : NaN;
        if (Number.isFinite(ra) && ra > 0) lockedCountdown(ra);
        else showStatus(status, 'error', 'login.locked_unknown');
      } else if (e.status === 401 || e.status === 400 || e.code === 'invalid_credentials') {
        showStatus(status, 'error', 'login.failed');
      } else {
        showStatus(status, 'error', 'error.' + (e.code === 'network' ? 'network' : 'login_unavailable'));
      }
      pass.input.focus();
    }
  });

  return page('login.title', h('p', { class: 'lead', i18n: 'login.intro' }), form);
}
