// linked.test.mjs — the Linked services page and the Data page's deletion on linked services, in a real browser
// against the real daemon on loopback, in Vietnamese and in English. An administrator: (e) with no service set up,
// the Data page's deletion on linked services says calmly that none is set up (409 link_not_running, an info
// message, not an error); (a) saves a WebDAV folder with an http:// address: the message sits next to the address
// field (aria-invalid, focused) and the camera kept nothing (GET from this test process, its own session); (b)
// saves https://127.0.0.1:9/dav with a CA certificate made here by openssl (read through the page's file picker)
// and a password: the camera's GET shows the settings with password_set true, the page says a password is
// stored, and the password is in no API answer and not in the page; (c) chooses "every segment": GET says all,
// the password is kept; (d) removes the folder (a cancelled dialog first keeps it): GET has no webdav. No console
// error and no 4xx/5xx but the expected refusals; nothing leaves loopback. The MQTT card: a wildcard topic refused
// next to its field, a broker without a password saved (password_set false) and removed. The Data page's report of
// a deletion done in part (an answer given inside the browser). A viewer has no menu entry and the
// page (its module and GET /api/v1/settings/linked) is never requested for a viewer. Screenshots and axe-core
// scans in both languages (test-artifacts/ui/linked-*.png, data-linked-*.png). docs/linked-services.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Camera, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiSend, loginForm, setLang, shootBothLanguages, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

const DAV_URL = 'https://127.0.0.1:9/dav';

let camera;
let browser;
let ctx;
let page;
let problems;
let adminPassword;
let admin; // this process's own session: {cookie, csrf}
let tmp;
let caPath;
let caPem;
const consoleErrors = [];
const answers = []; // every answer in the page with a 4xx/5xx status
const apiBodies = []; // promises of the text of every API answer in the page
const findings = [];
const secrets = [];

// One request from this process (not the page) to the camera, TLS checked against the device certificate.
function call(method, urlPath, body, session) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : JSON.stringify(body);
    const headers = { Accept: 'application/json' };
    if (data !== null) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(data);
    }
    if (session) {
      headers.Cookie = session.cookie;
      if (method !== 'GET') headers['X-CSRF-Token'] = session.csrf;
    }
    const req = https.request({
      host: '127.0.0.1', port: camera.httpsPort, path: urlPath, method, headers, ca: camera.cacert,
      checkServerIdentity: () => undefined, timeout: 70000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
        resolve({ status: res.statusCode, headers: res.headers, text, body: json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.end(data === null ? undefined : data);
  });
}

async function login(user, password) {
  const r = await call('POST', '/api/v1/session', { username: user, password });
  assert.equal(r.status, 200, r.text);
  const cookie = String([].concat(r.headers['set-cookie'])[0]).split(';')[0];
  return { cookie, csrf: r.body.csrf_token };
}

async function linked() {
  const r = await call('GET', '/api/v1/settings/linked', undefined, admin);
  assert.equal(r.status, 200, r.text);
  for (const s of secrets) assert.ok(!r.text.includes(s), 'no password in GET /api/v1/settings/linked');
  return r.body;
}

// Once the last service is removed the camera stops its link process: wait until the deletion says so (each
// 200 on the way deletes nothing, the camera uploaded nothing).
async function waitLinkStopped() {
  const deadline = Date.now() + 30000;
  for (;;) {
    const r = await call('POST', '/api/v1/linked/delete', { confirm: true }, admin);
    if (r.status === 409) return;
    assert.equal(r.status, 200, r.text);
    if (Date.now() > deadline) throw new Error('the link process still answers 30 s after the last service was removed');
    await new Promise((res) => setTimeout(res, 250));
  }
}

// The forced password change through the form. A random password can contain a dictionary word (refused with
// the reasons shown): draw another, a bounded number of times.
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

async function statusOf(p, sel) {
  await p.waitForSelector(`${sel}:not([hidden])`);
  return { kind: (await p.getAttribute(sel, 'class')).replace('status ', ''), text: (await p.textContent(sel)).trim() };
}

async function openLinked(p) {
  await p.goto(`${camera.baseUrl}/#/linked`);
  await p.reload();
  await waitPage(p, 'linked');
  await p.waitForSelector('#webdav-form');
}

before(async () => {
  const why = unavailableReason();
  if (why) throw new Error(why);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safecam-linked-ui-'));
  caPath = path.join(tmp, 'dav-ca.crt');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', path.join(tmp, 'dav-ca.key'), '-out', caPath, '-days', '30', '-subj', '/CN=safecam linked test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  caPem = fs.readFileSync(caPath, 'utf8');
  assert.match(caPem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);

  camera = new Camera();
  await camera.start();
  browser = await launchBrowser();
  ctx = await newContext(browser, camera, 'vi-VN');
  page = await ctx.newPage();
  problems = watchPage(page);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('response', (r) => {
    if (r.status() >= 400) answers.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    if (new URL(r.url()).pathname.startsWith('/api/')) apiBodies.push(r.text().catch(() => ''));
  });
  await page.goto(camera.baseUrl + '/');
  await waitPage(page, 'login');
  await loginForm(page, camera.label.admin_user, camera.label.initial_password);
  await waitPage(page, 'password');
  adminPassword = await changePasswordForm(page, camera.label.initial_password);
  await waitPage(page, 'privacy');
  await page.click('#privacy-ack');
  await waitPage(page, 'live');
  admin = await login(camera.label.admin_user, adminPassword);
  consoleErrors.length = 0;
  answers.length = 0;
});

after(async () => {
  if (browser) await browser.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (camera) assert.deepEqual(await camera.finish(), [], 'sanitizer report in the safecamd log');
});

for (const lang of ['vi', 'en']) {
  test(`an administrator sets up, changes and removes a WebDAV folder, and deletes on linked services (${lang})`, async () => {
    const S = STRINGS[lang];
    const secret = `dav-${lang}-${strongPassword()}`;
    secrets.push(secret);
    await setLang(page, lang);

    // (e) nothing set up: the Data page's deletion on linked services says so calmly
    await waitLinkStopped();
    await page.goto(`${camera.baseUrl}/#/data`);
    await waitPage(page, 'data');
    assert.equal((await page.textContent('#data-linked h2')).trim(), S['data.linked_title']);
    await page.click('#linked-delete');
    await page.waitForSelector('#linked-delete-confirm[open]');
    await page.click('#linked-delete-confirm-cancel');
    assert.deepEqual(await statusOf(page, '#linked-delete-status'), { kind: 'status-info', text: S['data.cancelled'] });
    await page.click('#linked-delete');
    await page.waitForSelector('#linked-delete-confirm[open]');
    await page.click('#linked-delete-confirm-ok');
    await page.waitForSelector('#linked-delete-status[data-state="none"]');
    assert.deepEqual(await statusOf(page, '#linked-delete-status'), { kind: 'status-info', text: S['data.linked_none'] });
    assert.equal(await page.getAttribute('#linked-delete-status', 'role'), 'status', 'not an alert');
    if (lang === 'en') await shootBothLanguages(page, 'data-linked-none', findings);

    // the page: menu entry, what it says plainly, both cards empty
    await page.click('#nav-linked');
    await waitPage(page, 'linked');
    await page.waitForSelector('#webdav-form');
    assert.equal((await page.textContent('#page-title')).trim(), S['linked.title']);
    assert.equal((await page.textContent('#linked-trust')).trim(), S['linked.trust']);
    assert.equal((await page.textContent('#linked-mqtt-sends')).trim(), S['linked.mqtt_sends']);
    assert.equal((await page.textContent('#linked-location')).trim(), S['linked.location']);
    assert.equal(await page.getAttribute('#linked-privacy-link', 'href'), '#/privacy');
    assert.equal(await page.$('#linked-facts input'), null, 'the data-location declaration is not repeated here');
    for (const svc of ['mqtt', 'webdav']) {
      assert.equal((await page.textContent(`#${svc}-state`)).trim(), S['linked.state_off']);
      assert.equal(await page.isDisabled(`#${svc}-remove`), true, `${svc}: nothing to remove`);
      assert.equal(await page.isHidden(`#${svc}-password-stored`), true);
    }
    // every control has its label
    const unlabelled = await page.$$eval('main input, main textarea, main select',
      (xs) => xs.filter((x) => !x.labels || !x.labels.length).map((x) => x.id));
    assert.deepEqual(unlabelled, []);
    assert.equal(await page.inputValue('#webdav-retention'), '30');
    assert.equal(await page.inputValue('#webdav-upload'), 'motion');

    // (a) an http:// address: refused next to the field, nothing kept
    await page.fill('#webdav-url', DAV_URL.replace('https:', 'http:'));
    await page.setInputFiles('#webdav-ca-file', caPath);
    await page.waitForFunction(() => document.querySelector('#webdav-ca').value.includes('BEGIN CERTIFICATE'));
    assert.equal(await page.inputValue('#webdav-ca'), caPem, 'the file picker reads the PEM into the field');
    await page.fill('#webdav-username', 'cam');
    await page.fill('#webdav-password', secret);
    await page.fill('#webdav-retention', '14');
    await page.click('#webdav-save');
    await page.waitForSelector('#webdav-url[aria-invalid="true"]');
    assert.equal((await page.textContent('#webdav-url-error')).trim(), S['linked.err_webdav_url']);
    assert.equal(await page.isVisible('#webdav-url-error'), true);
    assert.match(await page.getAttribute('#webdav-url', 'aria-describedby'), /\bwebdav-url-error\b/);
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'webdav-url', 'focus on the field');
    assert.deepEqual(await statusOf(page, '#webdav-status'), { kind: 'status-error', text: S['linked.not_saved'] });
    assert.deepEqual(await linked(), { data_location: 'unset' }, 'nothing saved');
    assert.ok(answers.includes('422 PUT /api/v1/settings/linked'), answers.join(', '));

    // (b) a valid https address with the CA and a password
    await page.fill('#webdav-url', DAV_URL);
    await page.click('#webdav-save');
    assert.deepEqual(await statusOf(page, '#webdav-status'), { kind: 'status-ok', text: S['linked.saved'] });
    assert.equal(await page.getAttribute('#webdav-url', 'aria-invalid'), null, 'the mark is gone');
    assert.equal(await page.isHidden('#webdav-url-error'), true);
    assert.deepEqual(await linked(), {
      data_location: 'unset',
      webdav: { url: DAV_URL, ca_pem: caPem, username: 'cam', retention_days: 14, upload: 'motion', password_set: true },
    });
    await page.waitForSelector('#webdav-password-stored:not([hidden])');
    assert.equal((await page.textContent('#webdav-password-stored')).trim(), S['linked.password_stored']);
    assert.equal(await page.inputValue('#webdav-password'), '', 'the password field is emptied');
    assert.equal((await page.textContent('#webdav-state')).trim(), S['linked.state_on']);
    assert.equal(await page.isDisabled('#webdav-remove'), false);
    assert.equal(await page.isHidden('#mqtt-password-stored'), true, 'the MQTT card is untouched');
    // read back after a reload
    await openLinked(page);
    assert.equal(await page.inputValue('#webdav-url'), DAV_URL);
    assert.equal(await page.inputValue('#webdav-ca'), caPem);
    assert.equal(await page.inputValue('#webdav-username'), 'cam');
    assert.equal(await page.inputValue('#webdav-retention'), '14');
    assert.equal(await page.inputValue('#webdav-password'), '');
    await page.waitForSelector('#webdav-password-stored:not([hidden])');
    assert.ok(!(await page.content()).includes(secret), 'the password is not in the page');
    if (lang === 'en') await shootBothLanguages(page, 'linked', findings);

    // (c) every segment; the password field left empty keeps the stored password
    await page.selectOption('#webdav-upload', 'all');
    await page.click('#webdav-save');
    assert.deepEqual(await statusOf(page, '#webdav-status'), { kind: 'status-ok', text: S['linked.saved'] });
    const c = await linked();
    assert.equal(c.webdav.upload, 'all');
    assert.equal(c.webdav.password_set, true, 'the stored password is kept');
    assert.equal(c.webdav.retention_days, 14);
    assert.equal(await page.inputValue('#webdav-upload'), 'all');

    // (d) remove: a cancelled dialog keeps it, a confirmed one removes it
    await page.click('#webdav-remove');
    await page.waitForSelector('#webdav-remove-confirm[open]');
    await page.click('#webdav-remove-confirm-cancel');
    assert.deepEqual(await statusOf(page, '#webdav-status'), { kind: 'status-info', text: S['linked.cancelled'] });
    assert.ok((await linked()).webdav, 'cancel removes nothing');
    await page.click('#webdav-remove');
    await page.waitForSelector('#webdav-remove-confirm[open]');
    assert.equal((await page.textContent('#webdav-remove-confirm h2')).trim(), S['linked.webdav_remove_title']);
    await page.click('#webdav-remove-confirm-ok');
    await page.waitForSelector('#webdav-state[data-state="none"]');
    assert.deepEqual(await statusOf(page, '#webdav-status'), { kind: 'status-ok', text: S['linked.removed'] });
    assert.deepEqual(await linked(), { data_location: 'unset' }, 'no webdav any more');
    assert.equal(await page.isHidden('#webdav-password-stored'), true);
    assert.equal(await page.inputValue('#webdav-url'), '');
    assert.equal(await page.isDisabled('#webdav-remove'), true);

    // no password in any API answer the page received, nor in the page
    const bodies = await Promise.all(apiBodies);
    for (const s of secrets) assert.ok(!bodies.some((b) => b.includes(s)), 'no API answer carries the password');
    assert.ok(!(await page.content()).includes(secret));

    // only the expected refusals: the 422 of (a) and the 409 of (e), each once, and their console lines
    const expected = ['409 POST /api/v1/linked/delete', '422 PUT /api/v1/settings/linked'];
    assert.deepEqual([...answers].sort(), expected);
    const other = consoleErrors.filter((m) => !/Failed to load resource: the server responded with a status of (409|422)\b/.test(m));
    assert.deepEqual(other, []);
    assert.ok(consoleErrors.length <= 2, consoleErrors.join(' | '));
    assert.deepEqual(problems, []);
    assert.deepEqual(ctx.foreignRequests, []);
    assert.deepEqual(findings, [], findings.join('\n'));
    answers.length = 0;
    consoleErrors.length = 0;
  });
}

test('the MQTT card: a topic with a wildcard is refused next to it; a broker without a password is kept and removed', async () => {
  const S = STRINGS.en;
  await setLang(page, 'en');
  await openLinked(page);
  await page.fill('#mqtt-url', 'mqtts://127.0.0.1:9');
  await page.fill('#mqtt-ca', caPem);
  await page.fill('#mqtt-topic', 'cams/#');
  await page.click('#mqtt-save');
  await page.waitForSelector('#mqtt-topic[aria-invalid="true"]');
  assert.equal((await page.textContent('#mqtt-topic-error')).trim(), S['linked.err_topic']);
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'mqtt-topic');
  assert.equal(await page.getAttribute('#mqtt-url', 'aria-invalid'), null, 'only the named field is marked');
  assert.deepEqual(await linked(), { data_location: 'unset' }, 'nothing saved');

  await page.fill('#mqtt-topic', 'cams');
  await page.click('#mqtt-save');
  assert.deepEqual(await statusOf(page, '#mqtt-status'), { kind: 'status-ok', text: S['linked.saved'] });
  assert.deepEqual(await linked(), {
    data_location: 'unset',
    mqtt: { url: 'mqtts://127.0.0.1:9', ca_pem: caPem, username: '', topic: 'cams', password_set: false },
  });
  assert.equal(await page.isHidden('#mqtt-password-stored'), true, 'no password stored, none claimed');
  assert.equal(await page.isDisabled('#webdav-remove'), true, 'the WebDAV card is untouched');

  await page.click('#mqtt-remove');
  await page.waitForSelector('#mqtt-remove-confirm[open]');
  await page.click('#mqtt-remove-confirm-ok');
  await page.waitForSelector('#mqtt-state[data-state="none"]');
  assert.deepEqual(await linked(), { data_location: 'unset' });

  assert.deepEqual(answers, ['422 PUT /api/v1/settings/linked']);
  assert.deepEqual(consoleErrors.filter((m) => !/status of 422\b/.test(m)), []);
  assert.deepEqual(problems, []);
  answers.length = 0;
  consoleErrors.length = 0;
});

// What the Data page shows for a deletion that removed some items and not others. The camera's deletion on real
// services is tested in tests/system/test_linked.py (test_camera_linked_delete_on_the_real_services); here the
// page is given such an answer (the route is answered inside the browser, nothing reaches the camera).
test('the Data page lists what was removed on linked services and what was not, with why', async () => {
  const answer = {
    removed: [{ service: 'webdav', name: 'SN1_a.mp4' }, { service: 'mqtt', topic: 'cams/SN1' }],
    failed: [{ service: 'webdav', name: 'SN1_b.mp4', why: 'certificate refused' }, { service: 'mqtt', topic: 'cams/SN1', why: 'broker unreachable' }],
  };
  await page.route('**/api/v1/linked/delete', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(answer) }));
  try {
    for (const lang of ['vi', 'en']) {
      const S = STRINGS[lang];
      await setLang(page, lang);
      await page.goto(`${camera.baseUrl}/#/data`);
      await waitPage(page, 'data');
      await page.click('#linked-delete');
      await page.waitForSelector('#linked-delete-confirm[open]');
      await page.click('#linked-delete-confirm-ok');
      await page.waitForSelector('#linked-delete-status[data-state="partial"]');
      const st = await statusOf(page, '#linked-delete-status');
      assert.equal(st.kind, 'status-error');
      assert.ok(st.text.startsWith(S['data.linked_deleted'].replace('{removed}', '2')), st.text);
      assert.ok(st.text.includes(S['data.linked_failed'].replace('{failed}', '2')), st.text);
      const items = await page.$$eval('#linked-delete-failed li', (xs) => xs.map((x) => x.textContent));
      assert.deepEqual(items, [
        S['data.linked_failed_item'].replace('{service}', 'WebDAV').replace('{name}', 'SN1_b.mp4').replace('{why}', S['data.linked_why_certificate']),
        S['data.linked_failed_item'].replace('{service}', 'MQTT').replace('{name}', 'cams/SN1').replace('{why}', S['data.linked_why_unreachable']),
      ]);
    }
    await shootBothLanguages(page, 'data-linked-partial', findings);
    assert.deepEqual(findings, [], findings.join('\n'));
  } finally {
    await page.unroute('**/api/v1/linked/delete');
  }
  assert.deepEqual(answers, []);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(problems, []);
});

test('a viewer has no Linked services entry and the page is never requested for a viewer', async () => {
  let viewerPassword;
  let created;
  for (let i = 0; i < 5; i++) {
    viewerPassword = strongPassword();
    created = await apiSend(page, 'POST', '/api/v1/users', { username: 'viewer1', password: viewerPassword, role: 'viewer' });
    if (created.status !== 422) break;
  }
  assert.equal(created.status, 201, JSON.stringify(created));

  const vctx = await newContext(browser, camera, 'en-US');
  const vpage = await vctx.newPage();
  const vproblems = watchPage(vpage);
  const vconsole = [];
  const vbad = [];
  const linkedRequests = [];
  vpage.on('console', (m) => { if (m.type() === 'error') vconsole.push(m.text()); });
  vpage.on('response', (r) => { if (r.status() >= 400) vbad.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  vpage.on('request', (r) => { if (/\/api\/v1\/(settings\/)?linked|\/js\/pages\/linked\.js/.test(r.url())) linkedRequests.push(r.url()); });
  await vpage.goto(camera.baseUrl + '/');
  await waitPage(vpage, 'login', 30000);
  await loginForm(vpage, 'viewer1', viewerPassword);
  await waitPage(vpage, 'password');
  const vpw = await changePasswordForm(vpage, viewerPassword);
  await vpage.waitForSelector('body[data-page="live"] #page-title, body[data-page="privacy"] #page-title');
  vconsole.length = 0;
  vbad.length = 0;

  for (const lang of ['vi', 'en']) {
    await setLang(vpage, lang);
    assert.equal(await vpage.$('#nav-linked'), null, 'no Linked services entry in a viewer\'s menu');
    assert.ok(await vpage.$('#nav-live'), 'the menu is there');
    await vpage.goto(`${camera.baseUrl}/#/linked`);
    await vpage.waitForFunction(() => document.body.dataset.page && document.body.dataset.page !== 'linked'
      && document.querySelector('#page-title'));
    await vpage.waitForTimeout(1000);
    assert.equal(await vpage.$('#webdav-form'), null);
    const text = await vpage.textContent('main');
    assert.ok(!text.includes(STRINGS[lang]['linked.mqtt_title']) && !text.includes(STRINGS[lang]['linked.webdav_title']), text);
  }
  assert.deepEqual(linkedRequests, [], 'nothing of the page is requested for a viewer');
  assert.deepEqual(vbad, []);
  assert.deepEqual(vconsole, []);
  assert.deepEqual(vproblems, []);
  assert.deepEqual(vctx.foreignRequests, []);
  await vctx.close();
  // the camera is the judge all the same (asked from this process, not the viewer's page)
  const viewer = await login('viewer1', vpw);
  assert.equal((await call('GET', '/api/v1/settings/linked', undefined, viewer)).status, 403);
  assert.equal((await call('PUT', '/api/v1/settings/linked', { webdav: {} }, viewer)).status, 403);
  assert.equal((await call('POST', '/api/v1/linked/delete', { confirm: true }, viewer)).status, 403);
});
