// factory_reset.test.mjs — the factory reset from the "Delete data" page in a real browser against the real
// daemon on loopback: the page says what is erased and what is kept, the button stays disabled until the
// confirmation word is typed, a dialog asks once more (Cancel changes nothing), then the camera erases
// itself: the page says what happens next, drops the session and asks the camera nothing more. The camera
// comes back with a NEW certificate, the old password and data are gone and the label's initial password
// logs in (to be changed). Screenshots in Vietnamese and English go to test-artifacts/ui/, each state is
// scanned with axe-core. QCVN 135 G9 / EN 303 645 5.11-1.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Camera, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiFirstLogin, apiGet, apiSend, loginForm, shootBothLanguages, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

let camera;
let browser;
let ctx;
let page;
let problems;
const findings = [];
const password = strongPassword();
const newPassword = strongPassword();
let oldCert;

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function shoot(p, name) {
  await shootBothLanguages(p, `reset-${name}`, findings);
}

async function resetStatusSays(key, kind) {
  await page.waitForSelector(`#reset-status.status-${kind}`);
  const text = await page.textContent('#reset-status');
  assert.ok(text.includes(STRINGS.vi[key]), `${key}: ${text}`);
}

// The camera is back when its certificate file changed, no reset is pending, and HTTPS completes a
// handshake verified against the NEW certificate (so that is the one it serves).
async function waitBack(timeoutMs = 90000) {
  const deadline = Date.now() + timeoutMs;
  const pending = path.join(camera.stateDir, 'factory-reset.pending');
  while (Date.now() < deadline) {
    let cert = null;
    try { cert = fs.readFileSync(camera.cacertPath, 'utf8'); } catch (_) { cert = null; }
    if (cert && cert !== oldCert && !fs.existsSync(pending)) {
      camera.cacert = cert;
      await camera.waitTls(Math.max(1000, deadline - Date.now()));
      return;
    }
    if (camera.exited) throw new Error(`safecamd exited: ${JSON.stringify(camera.exited)}\n${camera.log().slice(-4000)}`);
    await sleep(200);
  }
  throw new Error(`the camera did not come back with a new certificate:\n${camera.log().slice(-4000)}`);
}

before(async () => {
  const why = unavailableReason();
  if (why) throw new Error(why);
  camera = new Camera();
  await camera.start();
  oldCert = camera.cacert;
  browser = await launchBrowser();
  ctx = await newContext(browser, camera, 'vi-VN');
  page = await ctx.newPage();
  problems = watchPage(page);
  await page.goto(camera.baseUrl + '/');
  await waitPage(page, 'login');
  await apiFirstLogin(page, camera, password);
  await page.reload();
  await waitPage(page, 'privacy');
  await page.click('#privacy-ack');
  await waitPage(page, 'live');
  // Something to erase: a second user and a capture.
  assert.equal((await apiSend(page, 'POST', '/api/v1/users', { username: 'viewer1', password: strongPassword(), role: 'viewer' })).status, 201);
  assert.equal((await apiSend(page, 'POST', '/api/v1/captures', {})).status, 201);
});

after(async () => {
  if (browser) await browser.close();
  if (camera) assert.deepEqual(await camera.finish(), [], 'sanitizer report in the safecamd log');
});

test('the page says what a factory reset erases and what it keeps', async () => {
  await page.click('#nav-data');
  await waitPage(page, 'data');
  assert.equal(await page.$$eval('#reset-erased li', (l) => l.length), 5);
  assert.equal(await page.$$eval('#reset-kept li', (l) => l.length), 2);
  const text = await page.textContent('#reset-form');
  for (const k of ['data.reset_erased_users', 'data.reset_erased_settings', 'data.reset_erased_captures', 'data.reset_erased_audit',
    'data.reset_erased_keys', 'data.reset_kept_firmware', 'data.reset_kept_identity', 'data.reset_after']) {
    assert.ok(text.includes(STRINGS.vi[k]), k);
  }
  assert.equal(await page.isEnabled('#reset-word'), true, 'the firmware has the endpoint');
  await page.click('#data-captures-link');
  await waitPage(page, 'captures');
  await page.goBack();
  await waitPage(page, 'data');
  await shoot(page, 'page');
});

test('the button waits for the confirmation word', async () => {
  assert.equal(await page.isDisabled('#reset-button'), true);
  assert.equal(await page.textContent('label[for="reset-word"]'), STRINGS.vi['data.reset_word_label']);
  for (const [typed, ok] of [['X', false], ['XO', false], ['XOAX', false], ['RESE', false], ['XOA', true], ['', false],
    ['xóa', true], [' XOA ', true], ['RESET', true], ['reset', true], ['DELETE', false]]) {
    await page.fill('#reset-word', typed);
    assert.equal(await page.isDisabled('#reset-button'), !ok, `"${typed}" ${ok ? 'enables' : 'does not enable'} the button`);
  }
  // Enter with a wrong word submits nothing.
  await page.fill('#reset-word', 'XO');
  await page.press('#reset-word', 'Enter');
  await sleep(300);
  assert.equal(await page.$('#reset-confirm'), null, 'no dialog for a wrong word');
  await page.fill('#reset-word', 'XOA');
  await shoot(page, 'word-typed');
});

test('Cancel in the confirmation dialog changes nothing', async () => {
  await page.click('#reset-button');
  await page.waitForSelector('#reset-confirm[open]');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reset-confirm-cancel', 'focus starts on Cancel');
  assert.ok((await page.textContent('#reset-confirm')).includes(STRINGS.vi['data.reset_confirm_text']));
  await shoot(page, 'dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#reset-confirm', { state: 'detached' });
  await resetStatusSays('data.cancelled', 'info');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reset-button', 'focus back on the button');
  await sleep(1000);
  assert.equal(fs.readFileSync(camera.cacertPath, 'utf8'), oldCert, 'same certificate');
  const users = await apiGet(page, '/api/v1/users');
  assert.equal(users.status, 200, 'still logged in');
  assert.ok(users.body.users.some((u) => u.username === 'viewer1'), 'nothing erased');
});

test('confirmed: the page says what happens next and stops talking to the camera', async () => {
  await page.click('#reset-button');
  await page.waitForSelector('#reset-confirm[open]');
  let after = null;
  const requests = [];
  page.on('request', (r) => { if (after !== null) requests.push(r.url()); });
  await page.click('#reset-confirm-ok');
  await page.waitForSelector('#reset-status[data-state="resetting"]');
  after = Date.now();
  await resetStatusSays('data.reset_started', 'ok');
  const text = await page.textContent('#reset-status');
  for (const k of ['data.reset_next_1', 'data.reset_next_2', 'data.reset_next_3']) assert.ok(text.includes(STRINGS.vi[k]), k);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reset-status', 'focus moves to the message');
  assert.equal(await page.isDisabled('#reset-button'), true);
  assert.equal(await page.isDisabled('#reset-word'), true);
  assert.equal(await page.isVisible('#nav'), false, 'no navigation: the session is gone');
  assert.equal(await page.isVisible('#logout-button'), false);
  await shoot(page, 'started');
  await sleep(3000);
  assert.deepEqual(requests.filter((u) => u.startsWith(camera.baseUrl)), [], 'no request after the reset was accepted');
});

test('the camera comes back with a new certificate, and only the label password logs in', async () => {
  await waitBack();
  assert.notEqual(camera.cacert, oldCert);
  await page.click('#reset-login-link');
  await waitPage(page, 'login');
  await loginForm(page, camera.label.admin_user, password);
  await page.waitForSelector('#login-status.status-error');
  assert.match(await page.textContent('#login-status'), /tên người dùng hoặc mật khẩu không đúng/, 'the old password is gone');
  await loginForm(page, camera.label.admin_user, camera.label.initial_password);
  await waitPage(page, 'password');
  await page.fill('#pw-current', camera.label.initial_password);
  await page.fill('#pw-new', newPassword);
  await page.fill('#pw-confirm', newPassword);
  await page.click('#pw-submit');
  await waitPage(page, 'privacy', 20000); // the privacy choice was erased too
  await page.click('#privacy-ack');
  await waitPage(page, 'live');
  const users = await apiGet(page, '/api/v1/users');
  assert.deepEqual(users.body.users.map((u) => u.username), [camera.label.admin_user], 'only the label admin');
  assert.deepEqual((await apiGet(page, '/api/v1/captures')).body.captures, [], 'captures erased');
  const ev = await apiGet(page, '/api/v1/events?type=factory_reset');
  assert.equal(ev.status, 200);
  assert.ok(ev.body.events.length >= 1, 'the new audit log starts with the reset');
  await page.goto(camera.baseUrl + '/#/captures');
  await waitPage(page, 'captures');
  assert.equal(await page.getAttribute('#captures-summary', 'data-count'), '0');
});

test('no axe violations, no request left the camera origin, the CSP was never violated', () => {
  assert.deepEqual(findings, [], 'axe-core serious/critical violations');
  assert.deepEqual(ctx.foreignRequests, []);
  assert.deepEqual(problems, []);
});
