// firmware_online.test.mjs — the firmware page's online update parts in a real browser against the real
// daemon: the update settings form (turn the online check on with the manufacturer's server address; an
// address that is not https:// refused before sending), "Check now" finding a newer version, and the
// Install button with its confirmation dialog calling POST /api/v1/system/update/apply (the bundle the
// test server offers is not a signed bundle, so the camera refuses it and the page says the firmware was
// not installed). The update server is a Node HTTPS server on loopback with a CA made at test time and
// installed at provisioning (safecam-provision --update-ca). QCVN 135 G3 / EN 303 645 5.3.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Camera, artifactPath, binPath, freePort, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiGet, axeScan, loginForm, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

let camera;
let browser;
let ctx;
let page;
let problems;
let server;
let serverUrl;
const requests = [];

function openssl(...args) {
  const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

// A camera provisioned with the test CA as its update server CA.
class UpdateCamera extends Camera {
  constructor(ca) {
    super();
    this.updateCa = ca;
  }

  provision() {
    const r = spawnSync(binPath('safecam-provision'), ['--state-dir', this.stateDir, '--label-out', this.labelPath,
      '--update-ca', this.updateCa], { encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`safecam-provision failed (${r.status}): ${r.stderr}`);
    this.label = JSON.parse(fs.readFileSync(this.labelPath, 'utf8'));
    this.cacertPath = path.join(this.stateDir, 'factory', 'tls.crt');
    this.cacert = fs.readFileSync(this.cacertPath, 'utf8');
  }
}

before(async () => {
  const why = unavailableReason();
  if (why) throw new Error(why);
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'safecam-updsrv-'));
  const p = (n) => path.join(dir, n);
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ca.key'),
    '-out', p('ca.crt'), '-days', '1', '-subj', '/CN=test vendor CA', '-addext', 'basicConstraints=critical,CA:TRUE');
  fs.writeFileSync(p('srv.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('srv.key'),
    '-out', p('srv.csr'), '-subj', '/CN=update-server');
  openssl('x509', '-req', '-in', p('srv.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-set_serial', '9',
    '-days', '1', '-out', p('srv.crt'), '-extfile', p('srv.ext'));
  camera = new UpdateCamera(p('ca.crt'));
  camera.serverDir = dir;
  await camera.start();
  const model = camera.label.model;
  const bundle = Buffer.alloc(4096, 7); // not a bundle: the camera's verifier refuses it
  const port = await freePort();
  server = https.createServer({ key: fs.readFileSync(p('srv.key')), cert: fs.readFileSync(p('srv.crt')) }, (req, res) => {
    requests.push(req.url);
    if (req.url === `/${model}/latest.json`) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ version: '9.9.9', security_version: 9, bundle: 'safecam-9.9.9.bundle', size: bundle.length }));
    } else if (req.url === `/${model}/safecam-9.9.9.bundle`) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bundle.length });
      res.end(bundle);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  serverUrl = `https://127.0.0.1:${port}`;
  browser = await launchBrowser();
  ctx = await newContext(browser, camera, 'en-US');
  page = await ctx.newPage();
  problems = watchPage(page);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await new Promise((resolve) => server.close(resolve));
  if (camera) {
    fs.rmSync(camera.serverDir, { recursive: true, force: true });
    assert.deepEqual(await camera.finish(), [], 'sanitizer report in the safecamd log');
  }
});

test('first login, then the firmware page shows the online update settings', async () => {
  const password = strongPassword();
  await page.goto(camera.baseUrl + '/');
  await waitPage(page, 'login');
  await loginForm(page, camera.label.admin_user, camera.label.initial_password);
  await waitPage(page, 'password');
  await page.fill('#pw-current', camera.label.initial_password);
  await page.fill('#pw-new', password);
  await page.fill('#pw-confirm', password);
  await page.click('#pw-submit');
  await waitPage(page, 'privacy');
  await page.click('#privacy-ack');
  await waitPage(page, 'live');
  await page.goto(camera.baseUrl + '/#/firmware');
  await waitPage(page, 'firmware');
  await page.waitForSelector('#fw-settings-form');
  assert.equal(await page.isChecked('#fw-online'), false);
  assert.equal(await page.isDisabled('#fw-online'), false, 'the CA is installed: the check can be turned on');
  assert.equal(await page.$('#fw-ca-missing'), null);
  assert.equal(await page.inputValue('#fw-url'), '');
  assert.equal(await page.isHidden('#fw-apply'), true, 'nothing to install before a check');
});

test('an address that is not https:// is refused before anything is sent', async () => {
  await page.check('#fw-online');
  await page.fill('#fw-url', serverUrl.replace('https:', 'http:'));
  await page.click('#fw-settings-save');
  await page.waitForSelector('#fw-settings-status.status-error');
  assert.equal(await page.getAttribute('#fw-url', 'aria-invalid'), 'true');
  const r = await apiGet(page, '/api/v1/settings/update');
  assert.equal(r.body.online_enabled, false);
  assert.equal(r.body.server_url, '');
});

test('the online check is turned on through the settings form', async () => {
  await page.fill('#fw-url', serverUrl);
  await page.click('#fw-settings-save');
  await page.waitForSelector('#fw-settings-status.status-ok');
  const r = await apiGet(page, '/api/v1/settings/update');
  assert.equal(r.status, 200);
  assert.equal(r.body.online_enabled, true);
  assert.equal(r.body.server_url, serverUrl);
  assert.equal(r.body.auto_install, false);
  const ev = await apiGet(page, '/api/v1/events?type=config_change&limit=1');
  assert.match(ev.body.events[0].detail, /update settings/);
});

// Found by hand: after a refused upload the error said "not a valid firmware file" while the state line
// below it still said "No update in progress" until the page was reloaded.
test('an uploaded file that is not a bundle: the error and the state line agree', async () => {
  await page.setInputFiles('#fw-file', { name: 'random.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(4096, 3) });
  await page.click('#fw-upload');
  await page.waitForSelector('#fw-confirm[open]');
  await page.click('#fw-confirm-ok');
  await page.waitForSelector('#fw-upload-status.status-error', { timeout: 30000 });
  await page.waitForFunction((t) => document.querySelector('#fw-update-state').textContent.includes(t),
    STRINGS.en['firmware.state_failed'], { timeout: 10000 });
  assert.ok(!(await page.textContent('#fw-update-state')).includes(STRINGS.en['firmware.state_idle']));
  const st = await apiGet(page, '/api/v1/system/update');
  assert.equal(st.body.state, 'failed');
  assert.deepEqual(problems, []);
});

test('Check now finds the newer version and offers Install; the camera refuses a bad bundle', async () => {
  await page.click('#fw-check');
  await page.waitForSelector('#fw-apply:not([hidden])');
  assert.match(await page.textContent('#fw-check-status'), /9\.9\.9/);
  assert.ok(requests.some((u) => u.endsWith('/latest.json')), 'the camera asked the update server');
  await page.click('#fw-apply');
  await page.waitForSelector('#fw-apply-confirm[open]');
  const findings = await axeScan(page);
  await page.screenshot({ path: artifactPath('firmware-apply-confirm-en.png'), fullPage: true });
  await page.click('#fw-apply-confirm-ok');
  await page.waitForSelector('#fw-check-status.status-error', { timeout: 30000 });
  assert.match(await page.textContent('#fw-check-status'), /not installed/);
  assert.ok(requests.some((u) => u.endsWith('.bundle')), 'Install downloaded the bundle');
  const st = await apiGet(page, '/api/v1/system/update');
  assert.equal(st.body.state, 'failed');
  assert.equal(st.body.reason, 'malformed_bundle');
  const dev = await apiGet(page, '/api/v1/device');
  assert.equal(dev.body.running_slot, 'A');
  await page.screenshot({ path: artifactPath('firmware-online-en.png'), fullPage: true });
  findings.push(...await axeScan(page));
  assert.deepEqual(findings, [], 'axe-core serious/critical violations');
  assert.deepEqual(ctx.foreignRequests, []);
  assert.deepEqual(problems, []);
});
