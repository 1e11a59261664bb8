// onvif.test.mjs — the ONVIF switch of the Network services page, in a real browser against the real daemon on
// loopback: an administrator turns ONVIF on from the page, in Vietnamese and in English, and the camera itself
// proves it (a SOAP GetSystemDateAndTime to /onvif/device_service, sent from this test over TLS checked against
// the device certificate, answers 200 instead of 404), then off again (404 again); the page shows the device
// service address with the real HTTPS port and says WS-Discovery is not available (no switch for it); no console
// error and no 4xx/5xx answer in the page. A viewer gets no switch, and the page never asks the camera about
// ONVIF for a viewer (GET /api/v1/settings/onvif is admin only): no request, no 4xx.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { Camera, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiGet, apiSend, loginForm, setLang, shootBothLanguages, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

const DEV = 'http://www.onvif.org/ver10/device/wsdl';
const TIME_BODY = '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
  + `<s:Body><GetSystemDateAndTime xmlns="${DEV}"></GetSystemDateAndTime></s:Body></s:Envelope>`;

let camera;
let browser;
let ctx;
let page;
let problems;
const consoleErrors = [];
const badAnswers = [];
const onvifSettingRequests = [];

// POST a SOAP body to the camera from this process (not the page: a 404 there would be a console error).
function soap(path, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: camera.httpsPort, path, method: 'POST', ca: camera.cacert,
      checkServerIdentity: () => undefined, timeout: 20000,
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('SOAP request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function statusText(p) {
  await p.waitForSelector('#onvif-status:not([hidden])');
  return (await p.textContent('#onvif-status')).trim();
}

async function openNetwork(p) {
  await p.goto(`${camera.baseUrl}/#/network`);
  await waitPage(p, 'network');
}

// The forced password change through the form. A random password can contain a dictionary word (refused with
// the reasons shown): draw another, a bounded number of times. Resolves once the page has left the form.
async function changePasswordForm(p, current) {
  for (let i = 0; i < 5; i++) {
    const pw = strongPassword();
    await p.fill('#pw-current', current);
    await p.fill('#pw-new', pw);
    await p.fill('#pw-confirm', pw);
    await p.click('#pw-submit');
    await p.waitForSelector('body:not([data-page="password"]) #page-title, #password-status:not([hidden])');
    if (await p.getAttribute('body', 'data-page') !== 'password') return pw;
  }
  throw new Error('no acceptable random password in 5 draws');
}

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
  await loginForm(page, camera.label.admin_user, camera.label.initial_password);
  await waitPage(page, 'password');
  await changePasswordForm(page, camera.label.initial_password);
  await waitPage(page, 'privacy');
  await page.click('#privacy-ack');
  await waitPage(page, 'live');
  consoleErrors.length = 0;
  badAnswers.length = 0;
});

after(async () => {
  if (browser) await browser.close();
  if (camera) assert.deepEqual(await camera.finish(), [], 'sanitizer report in the safecamd log');
});

for (const lang of ['vi', 'en']) {
  test(`an administrator turns ONVIF on and off from the Network services page (${lang})`, async () => {
    const S = STRINGS[lang];
    await setLang(page, lang);
    await openNetwork(page);
    await page.waitForSelector('#onvif-enabled');
    assert.equal(await page.isChecked('#onvif-enabled'), false, 'off by default (and off again after the other language)');
    assert.equal(await page.getAttribute('#onvif-enabled', 'role'), 'switch');
    assert.equal(await page.textContent('#onvif-address'), `https://127.0.0.1:${camera.httpsPort}/onvif/device_service`);
    assert.equal((await page.textContent('#onvif-discovery')).trim(), S['network.discovery_hint']);
    assert.equal((await page.textContent('label[for="onvif-discovery-enabled"]')).trim(), S['network.discovery_enabled']);
    assert.equal(await page.isChecked('#onvif-discovery-enabled'), false, 'discovery off by default');
    assert.equal((await page.textContent('#onvif-account')).trim(), S['network.onvif_account']);
    assert.equal((await page.textContent('label[for="onvif-enabled"]')).trim(), S['network.onvif_enabled']);
    // the card's inputs: the ONVIF switch and the WS-Discovery switch
    assert.deepEqual(await page.$$eval('#onvif-card input', (xs) => xs.map((x) => x.id)), ['onvif-enabled', 'onvif-discovery-enabled']);
    assert.equal(await page.getAttribute('#onvif-discovery-enabled', 'role'), 'switch');
    assert.equal((await soap('/onvif/device_service', TIME_BODY)).status, 404, 'off: the path does not exist');

    await page.click('#onvif-enabled');
    assert.equal(await statusText(page), S['network.onvif_now_on']);
    assert.equal(await page.isChecked('#onvif-enabled'), true);
    const on = await soap('/onvif/device_service', TIME_BODY);
    assert.equal(on.status, 200, on.body);
    assert.ok(on.body.includes('<tt:UTCDateTime>'), on.body);
    assert.deepEqual((await apiGet(page, '/api/v1/settings/onvif')).body, { enabled: true, discovery: false });

    // the page reads the state back after a reload
    await page.reload();
    await waitPage(page, 'network');
    await page.waitForSelector('#onvif-enabled');
    assert.equal(await page.isChecked('#onvif-enabled'), true);
    if (lang === 'en') {
      // photographed (test-artifacts/ui/network-onvif-*.png) and scanned with axe-core in both languages
      const findings = [];
      await shootBothLanguages(page, 'network-onvif', findings);
      assert.deepEqual(findings, []);
    }

    // the WS-Discovery switch: on and off again through the page (tests/system/test_discovery.py proves what
    // listens on UDP in a network namespace)
    await page.click('#onvif-discovery-enabled');
    assert.equal(await statusText(page), S['network.discovery_now_on']);
    assert.equal(await page.isChecked('#onvif-discovery-enabled'), true);
    assert.deepEqual((await apiGet(page, '/api/v1/settings/onvif')).body, { enabled: true, discovery: true });
    await page.click('#onvif-discovery-enabled');
    assert.equal(await statusText(page), S['network.discovery_now_off']);
    assert.equal(await page.isChecked('#onvif-discovery-enabled'), false);
    assert.deepEqual((await apiGet(page, '/api/v1/settings/onvif')).body, { enabled: true, discovery: false });

    await page.click('#onvif-enabled');
    assert.equal(await statusText(page), S['network.onvif_now_off']);
    assert.equal(await page.isChecked('#onvif-enabled'), false);
    assert.equal((await soap('/onvif/device_service', TIME_BODY)).status, 404, 'off again: 404 at once');
    assert.deepEqual((await apiGet(page, '/api/v1/settings/onvif')).body, { enabled: false, discovery: false });

    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(badAnswers, []);
    assert.deepEqual(problems, []);
    assert.deepEqual(ctx.foreignRequests, []);
  });
}

test('a viewer gets no ONVIF switch and the page asks nothing about ONVIF for a viewer', async () => {
  // a random password can contain a dictionary word (422 password_policy): draw again, a bounded number of times
  let viewerPassword;
  let created;
  for (let i = 0; i < 5; i++) {
    viewerPassword = strongPassword();
    created = await apiSend(page, 'POST', '/api/v1/users', { username: 'viewer1', password: viewerPassword, role: 'viewer' });
    if (created.status !== 422) break;
  }
  assert.equal(created.status, 201, JSON.stringify(created));
  // ONVIF on, so a viewer page that showed the state would have something to show
  assert.equal((await apiSend(page, 'PUT', '/api/v1/settings/onvif', { enabled: true })).status, 200);

  const vctx = await newContext(browser, camera, 'en-US');
  const vpage = await vctx.newPage();
  const vproblems = watchPage(vpage);
  const vconsole = [];
  const vbad = [];
  vpage.on('console', (m) => { if (m.type() === 'error') vconsole.push(m.text()); });
  vpage.on('response', (r) => { if (r.status() >= 400) vbad.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  vpage.on('request', (r) => { if (r.url().includes('/api/v1/settings/onvif')) onvifSettingRequests.push(r.url()); });
  await vpage.goto(camera.baseUrl + '/');
  try {
    await waitPage(vpage, 'login', 30000); // a fresh context loads every module again: generous on a busy machine
  } catch (e) {
    const shown = await vpage.evaluate(() => `${document.body.dataset.page}: ${document.body.innerText.slice(0, 300)}`);
    throw new Error(`${e.message}\npage: ${shown}\nanswers: ${vbad.join(', ')}\nconsole: ${vconsole.join(' | ')}`);
  }
  await loginForm(vpage, 'viewer1', viewerPassword);
  await waitPage(vpage, 'password');
  await changePasswordForm(vpage, viewerPassword);
  await vpage.waitForSelector('body[data-page="live"] #page-title, body[data-page="privacy"] #page-title');
  vconsole.length = 0;
  vbad.length = 0;

  for (const lang of ['vi', 'en']) {
    await setLang(vpage, lang);
    await vpage.goto(`${camera.baseUrl}/#/network`);
    await vpage.waitForFunction(() => document.body.dataset.page && document.body.dataset.page !== 'network'
      && document.querySelector('#page-title'));
    await vpage.waitForTimeout(1000);
    assert.equal(await vpage.$('#onvif-enabled'), null, 'no ONVIF switch for a viewer');
    assert.equal(await vpage.$('#nav-network'), null, 'no Network services entry in a viewer\'s menu');
    const text = await vpage.textContent('main');
    assert.ok(!text.includes(STRINGS[lang]['network.onvif_enabled']) && !text.includes(STRINGS[lang]['network.discovery_enabled']), text);
  }
  assert.deepEqual(onvifSettingRequests, [], 'the page never asks about ONVIF for a viewer');
  assert.deepEqual(vbad, []);
  assert.deepEqual(vconsole, []);
  assert.deepEqual(vproblems, []);
  assert.deepEqual(vctx.foreignRequests, []);
  // the camera is the judge all the same
  assert.equal((await apiSend(vpage, 'PUT', '/api/v1/settings/onvif', { enabled: false })).status, 403);
  assert.deepEqual((await apiGet(page, '/api/v1/settings/onvif')).body, { enabled: true, discovery: false }, 'a refusal changes nothing');
  await vctx.close();
  assert.equal((await apiSend(page, 'PUT', '/api/v1/settings/onvif', { enabled: false })).status, 200);
});
