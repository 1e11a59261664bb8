// helpers.mjs — page-level steps shared by the browser tests (log in through the form, change the initial
// password through the API from inside the page, wait for a page, collect CSP violations and page errors).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { artifactPath } from './camera.mjs';

const require = createRequire(import.meta.url);
export const AXE_SOURCE = fs.readFileSync(path.join(path.dirname(require.resolve('axe-core')), 'axe.min.js'), 'utf8');

// Record console errors that are CSP violations and uncaught page errors (both are test failures).
export function watchPage(page) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push('CSP: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  return problems;
}

export async function waitPage(page, name, timeout = 15000) {
  await page.waitForSelector(`body[data-page="${name}"] #page-title`, { timeout });
}

export async function loginForm(page, user, password) {
  await page.fill('#login-username', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

// Inside the page (same origin, real cookie): log in and change the initial password through the API.
export async function apiFirstLogin(page, camera, newPassword) {
  const r = await page.evaluate(async ({ user, initial, pw }) => {
    const h = { 'Content-Type': 'application/json' };
    let resp = await fetch('/api/v1/session', { method: 'POST', headers: h, body: JSON.stringify({ username: user, password: initial }) });
    if (resp.status !== 200) return { step: 'login', status: resp.status, body: await resp.text() };
    const j = await resp.json();
    resp = await fetch(`/api/v1/users/${user}/password`, { method: 'PUT', headers: { ...h, 'X-CSRF-Token': j.csrf_token },
      body: JSON.stringify({ current_password: initial, new_password: pw }) });
    return { step: 'change', status: resp.status, body: await resp.text() };
  }, { user: camera.label.admin_user, initial: camera.label.initial_password, pw: newPassword });
  assert.equal(r.status, 204, JSON.stringify(r));
}

export async function apiGet(page, url) {
  return page.evaluate(async (u) => {
    const resp = await fetch(u, { headers: { Accept: 'application/json' } });
    let body = null;
    try { body = await resp.json(); } catch (_) { body = null; }
    return { status: resp.status, body };
  }, url);
}

// Mark the privacy notice acknowledged the way the UI does (device endpoint when present, else this browser).
export async function acknowledgePrivacy(page) {
  await page.evaluate(async () => {
    const m = await import('/js/privacy-state.js');
    await m.privacyState(null, true);
    await m.acknowledge('device_only');
  });
}

// axe-core scan of the current page (WCAG 2 A/AA rules); returns serious and critical violations.
export async function axeScan(page) {
  await page.evaluate(AXE_SOURCE);
  const res = await page.evaluate(async () => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
  return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

// A state-changing request from inside the page with the session's CSRF token (the app keeps it in this
// tab's sessionStorage). Returns {status, body} (body null when the answer is not JSON).
export async function apiSend(page, method, url, body) {
  return page.evaluate(async ({ m, u, b }) => {
    const headers = { 'X-CSRF-Token': window.sessionStorage.getItem('safecam.csrf') || '' };
    if (b !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(u, { method: m, headers, body: b === undefined ? undefined : JSON.stringify(b) });
    let j = null;
    try { j = await r.json(); } catch (_) { j = null; }
    return { status: r.status, body: j };
  }, { m: method, u: url, b: body });
}

// Switch the language the way the menu does (also while a modal dialog makes the menu inert).
export async function setLang(page, lang) {
  await page.evaluate(async (x) => (await import('/js/i18n.js')).setLang(x, true), lang);
  assert.equal(await page.getAttribute('html', 'lang'), lang);
}

// Photograph the page in both languages as test-artifacts/ui/<name>-<lang>.png and scan each with axe;
// violations are appended to findings. The page's language is restored afterwards.
export async function shootBothLanguages(page, name, findings) {
  const was = await page.getAttribute('html', 'lang');
  for (const l of ['vi', 'en']) {
    await setLang(page, l);
    await page.screenshot({ path: artifactPath(`${name}-${l}.png`), fullPage: true });
    const v = await axeScan(page);
    if (v.length) findings.push(`${name} (${l}):\n  ${v.join('\n  ')}`);
  }
  await setLang(page, was);
}
