// installer.test.mjs — what an installer sees (issue 11), in a real browser against the real daemon on loopback:
// the Network services page shows the REAL ports (free ports chosen by the test, never the defaults) and the
// full stream URLs from GET /api/v1/settings/network; the Network services, Delete data, Firmware and Events
// pages leave NO error in the console (no page probes a missing feature: no 404/405 answer at all); the Events
// page formats its times again after a language switch, and translates the daemon's free-text details
// ("privacy notice settings") in Vietnamese instead of showing the English words.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Camera, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiFirstLogin, apiSend, setLang, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

let camera;
let browser;
let ctx;
let page;
let problems;
const consoleErrors = [];
const badAnswers = [];

before(async () => {
  const why = unavailableReason();
  if (why) throw new Error(why);
  camera = new Camera();
  await camera.start();
  browser = await launchBrowser();
  ctx = await newContext(browser, camera, 'vi-VN');
  page = await ctx.newPage();
  problems = watchPage(page);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) badAnswers.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  await page.goto(camera.baseUrl + '/');
  await waitPage(page, 'login');
  await apiFirstLogin(page, camera, strongPassword());
  await page.reload();
  await waitPage(page, 'privacy');
  await page.click('#privacy-ack'); // writes the "privacy notice settings" audit event
  await waitPage(page, 'live');
  consoleErrors.length = 0;
  badAnswers.length = 0;
});

after(async () => {
  if (browser) await browser.close();
  if (camera) assert.deepEqual(await camera.finish(), [], 'sanitizer report in the safecamd log');
});

test('Network services shows the real ports and the full stream URLs, without console errors', async () => {
  await page.goto(`${camera.baseUrl}/#/network`);
  await waitPage(page, 'network');
  await page.waitForSelector('#ports-table tbody tr');
  const ports = await page.$$eval('#ports-table tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-service'), r.cells[0].textContent]));
  assert.deepEqual(ports, [['https', String(camera.httpsPort)], ['rtsps', String(camera.rtspsPort)]]);
  assert.equal(await page.textContent('#url-main'), `rtsps://127.0.0.1:${camera.rtspsPort}/stream1`);
  assert.equal(await page.textContent('#url-sub'), `rtsps://127.0.0.1:${camera.rtspsPort}/stream2`);
  assert.equal(await page.textContent('#url-web'), `https://127.0.0.1:${camera.httpsPort}/`);
  const text = await page.textContent('main');
  assert.ok(!text.includes('8322') || camera.rtspsPort === 8322, 'no default port claimed');
  assert.ok(!text.includes(STRINGS.vi['network.not_available']));
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(badAnswers, []);
});

test('Delete data and Firmware probe nothing: no 404/405 and no console error', async () => {
  for (const r of ['data', 'firmware', 'network']) {
    await page.goto(`${camera.baseUrl}/#/${r}`);
    await waitPage(page, r);
    await page.waitForTimeout(1000);
  }
  assert.equal(await page.isEnabled('#reset-word').catch(() => true), true);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(badAnswers, []);
  assert.deepEqual(problems, []);
});

test('Events: the date format follows a language switch, and free-text details are translated', async () => {
  // a stream settings change too (its detail is "stream settings: fps")
  const cur = (await apiSend(page, 'GET', '/api/v1/settings/stream')).body.stream;
  assert.equal((await apiSend(page, 'PUT', '/api/v1/settings/stream', { fps: cur.fps === 25 ? 24 : 25 })).status, 200);
  await page.goto(`${camera.baseUrl}/#/events`);
  await waitPage(page, 'events');
  await setLang(page, 'vi');
  await page.waitForSelector('#events-rows td[data-time]');
  const unix = Number(await page.getAttribute('#events-rows td[data-time]', 'data-time'));
  const first = () => page.textContent('#events-rows td[data-time]');
  const vi = await page.evaluate((u) => new Intl.DateTimeFormat('vi-VN', { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(u * 1000)), unix);
  const en = await page.evaluate((u) => new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(u * 1000)), unix);
  assert.notEqual(vi, en);
  assert.equal(await first(), vi);
  await setLang(page, 'en');
  assert.equal(await first(), en, 'the time is formatted again in English');
  await setLang(page, 'vi');
  assert.equal(await first(), vi);

  const details = await page.$$eval('#events-rows td.detail', (tds) => tds.map((td) => td.textContent));
  const all = details.join('\n');
  assert.ok(all.includes(STRINGS.vi['detail.phrase.privacy_settings']), all);
  assert.ok(all.includes(STRINGS.vi['detail.phrase.stream_settings'] + ': fps'), all);
  assert.ok(!all.includes('privacy notice settings'), 'no English words in the Vietnamese details');
  assert.ok(!all.includes('stream settings'), all);
  assert.deepEqual(consoleErrors, []);
});

test('Events: the chain status says when it was checked, and "Check the log now" counts every entry', async () => {
  // Right after provisioning the check made at start counted the entries of that moment (a new user read "0
  // entries checked" above a table of events as a fault).
  await page.goto(`${camera.baseUrl}/#/events`);
  await waitPage(page, 'events');
  await setLang(page, 'en');
  await page.waitForSelector('#events-rows td[data-time]');
  const before = await page.textContent('#events-chain');
  assert.match(before, /was intact at its last check \(.+\): \d+ entries then/, before);
  const total = (await apiSend(page, 'GET', '/api/v1/events/verify')).body.events;
  assert.ok(total > 0, String(total));
  await page.click('#events-verify');
  await page.waitForFunction((n) => {
    const el = document.querySelector('#events-chain');
    const m = el && /: (\d+) entries then/.exec(el.textContent);
    return m && Number(m[1]) >= n;
  }, total);
  await setLang(page, 'vi');
  const vi = await page.textContent('#events-chain');
  assert.ok(vi.includes('Nhật ký còn nguyên vẹn ở lần kiểm tra gần nhất'), vi);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(badAnswers, []);
});
