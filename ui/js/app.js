// app.js — the safecam web UI's entry point: language, session state, hash routing, navigation and
// the guards (login first, then the forced change of the initial password, then the privacy notice).
// Runs in the browser; the server is the judge of every permission, the UI only hides what a role can't use.
import { api, getCsrf, setCsrf, setHandlers } from './api.js';
import { apply, detectLang, lang, onLangChange, setLang, t, tx } from './i18n.js';
import { h } from './dom.js';
import { privacyState } from './privacy-state.js';

// route -> page module (loaded on first use, so the live view downloads only what it needs) and the
// roles that may open it (the server enforces the same).
const ROUTES = {
  login: { load: () => import('./pages/login.js'), public: true },
  password: { load: () => import('./pages/password.js'), roles: ['admin', 'operator', 'viewer'], nav: 'nav.password' },
  privacy: { load: () => import('./pages/privacy.js'), roles: ['admin', 'operator', 'viewer'], nav: 'nav.privacy' },
  live: { load: () => import('./pages/liveview.js'), roles: ['admin', 'operator', 'viewer'], nav: 'nav.live' },
  captures: { load: () => import('./pages/captures.js'), roles: ['admin', 'operator', 'viewer'], nav: 'nav.captures' },
  recordings: { load: () => import('./pages/recordings.js'), roles: ['admin', 'operator', 'viewer'], nav: 'nav.recordings' },
  users: { load: () => import('./pages/users.js'), roles: ['admin'], nav: 'nav.users' },
  security: { load: () => import('./pages/security.js'), roles: ['admin'], nav: 'nav.security' },
  network: { load: () => import('./pages/network.js'), roles: ['admin'], nav: 'nav.network' },
  linked: { load: () => import('./pages/linked.js'), roles: ['admin'], nav: 'nav.linked' },
  stream: { load: () => import('./pages/stream.js'), roles: ['admin'], nav: 'nav.stream' },
  firmware: { load: () => import('./pages/firmware.js'), roles: ['admin'], nav: 'nav.firmware' },
  events: { load: () => import('./pages/events.js'), roles: ['admin'], nav: 'nav.events' },
  data: { load: () => import('./pages/data.js'), roles: ['admin'], nav: 'nav.data' },
  about: { load: () => import('./pages/about.js'), roles: ['admin', 'operator', 'viewer'], nav: 'nav.about' },
};
const NAV_ORDER = ['live', 'recordings', 'captures', 'stream', 'users', 'security', 'network', 'linked', 'firmware', 'events', 'data', 'privacy', 'password', 'about'];

const state = {
  session: null, // {username, role, password_change_required, csrf_token}
  flash: null, // [key, args, kind] shown once by the next page (e.g. "session ended")
  current: null, // current page module
  returnTo: null, // {route, user}: where that user's next login goes, once (an ended session)
};

export function getState() {
  return state;
}

export function setFlash(key, kind, args) {
  state.flash = { key, kind: kind || 'info', args };
}

export function takeFlash() {
  const f = state.flash;
  state.flash = null;
  return f;
}

export function navigate(route) {
  const target = '#/' + route;
  if (window.location.hash === target) render();
  else window.location.hash = target;
}

export async function refreshSession() {
  try {
    const s = await api.get('/api/v1/session', { quiet: true });
    // Prefer the server's echo of the CSRF token; otherwise keep the one from the login.
    if (s.csrf_token) setCsrf(s.csrf_token);
    s.csrf_token = getCsrf();
    state.session = s;
  } catch (e) {
    state.session = null;
    setCsrf(null);
  }
  return state.session;
}

export function setSession(s) {
  state.session = s;
  if (!s) setCsrf(null);
  else if (s.csrf_token) setCsrf(s.csrf_token);
}

function endSession(flashKey) {
  if (state.session) {
    // The page the same user comes back to after logging in again (a session that ended mid-task).
    const r = routeName();
    state.returnTo = r && !['login', 'password', 'privacy'].includes(r) ? { route: r, user: state.session.username } : null;
    state.session = null;
    setCsrf(null);
    setFlash(flashKey || 'login.session_ended', 'info');
  }
  navigate('login');
}

// Where a login goes: the page the same user's ended session was on (once), else the home page.
function returnRoute(username) {
  const t = state.returnTo;
  state.returnTo = null;
  return t && t.user === username ? t.route : homeRoute();
}

function routeName() {
  const m = /^#\/([a-z]+)/.exec(window.location.hash || '');
  return m && ROUTES[m[1]] ? m[1] : null;
}

function homeRoute() {
  return 'live';
}

function renderChrome(active) {
  const nav = document.getElementById('nav');
  const menu = document.getElementById('menu-button');
  const logout = document.getElementById('logout-button');
  const who = document.getElementById('whoami');
  const s = state.session;
  const full = s && !s.password_change_required;
  nav.hidden = !full;
  menu.hidden = !full;
  logout.hidden = !s;
  who.hidden = !s;
  if (s) tx(who, 'app.whoami', { user: s.username, role: { t: 'role.' + s.role } });
  nav.replaceChildren();
  if (!full) return;
  const ul = h('ul');
  for (const name of NAV_ORDER) {
    const r = ROUTES[name];
    if (!r.roles.includes(s.role)) continue;
    const a = h('a', { href: '#/' + name, i18n: r.nav, id: 'nav-' + name });
    if (name === active) a.setAttribute('aria-current', 'page');
    ul.append(h('li', null, a));
  }
  nav.append(ul);
}

// The session is gone without a page change (after a factory reset): forget it and hide the navigation
// and the logout button, but keep the current page's message on screen.
function clearSession() {
  state.session = null;
  setCsrf(null);
  renderChrome(null);
}

let renderSeq = 0;

async function render() {
  const seq = ++renderSeq;
  let name = routeName();
  const s = state.session;
  if (!s) {
    name = 'login';
  } else if (s.password_change_required) {
    name = 'password';
  } else if (!name || name === 'login') {
    name = homeRoute();
  }
  if (s && !s.password_change_required && name !== 'privacy' && name !== 'password') {
    const p = await privacyState(s);
    if (seq !== renderSeq) return;
    if (p.mustShow) name = 'privacy';
  }
  const route = ROUTES[name];
  if (s && route.roles && !route.roles.includes(s.role)) name = homeRoute();
  if (window.location.hash !== '#/' + name) {
    window.history.replaceState(null, '', '#/' + name);
  }
  if (state.current && state.current.leave) state.current.leave();
  const mod = await ROUTES[name].load();
  if (seq !== renderSeq) return;
  state.current = mod;
  renderChrome(name);
  const main = document.getElementById('main');
  const view = await mod.render({ session: state.session, navigate, setFlash, takeFlash, refreshSession, setSession, clearSession, returnRoute });
  if (seq !== renderSeq) {
    if (mod.leave) mod.leave();
    return;
  }
  main.replaceChildren(view);
  apply(main);
  document.body.setAttribute('data-page', name); // after the content: tests and tools wait on it
  updateTitle();
  const title = document.getElementById('page-title');
  if (title) title.focus({ preventScroll: false });
  const nav = document.getElementById('nav');
  nav.classList.remove('open');
  document.getElementById('menu-button').setAttribute('aria-expanded', 'false');
}

function updateTitle() {
  const title = document.getElementById('page-title');
  document.title = title ? `${title.textContent} — ${t('app.name')}` : t('app.name');
}

async function logout() {
  try {
    await api.del('/api/v1/session', { quiet: true });
  } catch (_) { /* the session may already be gone; the result for the user is the same */ }
  state.session = null;
  state.returnTo = null; // a deliberate logout: the next login starts at the home page
  setCsrf(null);
  setFlash('login.logged_out', 'ok');
  navigate('login');
}

async function boot() {
  setLang(detectLang(), false);
  const select = document.getElementById('lang-select');
  select.value = lang();
  select.addEventListener('change', () => setLang(select.value, true));
  onLangChange((l) => {
    select.value = l;
    updateTitle();
    if (state.current && state.current.onLang) state.current.onLang(l);
  });
  document.getElementById('logout-button').addEventListener('click', logout);
  const menu = document.getElementById('menu-button');
  menu.addEventListener('click', () => {
    const nav = document.getElementById('nav');
    const open = !nav.classList.contains('open');
    nav.classList.toggle('open', open);
    menu.setAttribute('aria-expanded', open ? 'true' : 'false');
  });
  setHandlers({
    // a change refused because the session had ended was not saved: say so
    unauthorized: (method) => endSession(method && method !== 'GET' ? 'login.session_ended_unsaved' : 'login.session_ended'),
    passwordChange: () => {
      if (state.session) state.session.password_change_required = true;
      navigate('password');
    },
  });
  window.addEventListener('hashchange', render);
  await refreshSession();
  await render();
}

boot();
