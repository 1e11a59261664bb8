// recordings.test.mjs — the Recordings page in a real browser against the real daemon on loopback (test
// pattern source, 3 s segments): an administrator sees the day's timeline with one bar per segment, plays a
// segment in the page and seeks in it (the camera answers Range), downloads a time range as one MP4 (checked
// with ffprobe), changes a recording setting and deletes a segment through the confirmation dialog. A viewer
// plays but sees no delete or settings control (and the camera refuses the request anyway). No console error,
// no CSP violation, nothing fetched from elsewhere; screenshots in both languages go to test-artifacts/ui/ and
// are scanned with axe-core. QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { Camera, artifactPath, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiFirstLogin, apiGet, apiSend, axeScan, loginForm, shootBothLanguages, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

let camera;
let browser;
let ctx;
let page;
let problems;
const consoleErrors = [];
const findings = [];
const password = strongPassword();
const viewerPassword = strongPassword();

async function listed(p) {
  const r = await apiGet(p, '/api/v1/recordings');
  assert.equal(r.status, 200, JSON.stringify(r));
  return r.body.recordings;
}

async function openRecordings(p, base) {
  await p.goto(base + '/#/recordings');
  await p.reload();
  await p.waitForSelector('body[data-page="recordings"] #page-title, body[data-page="privacy"] #page-title');
  if (await p.$('#privacy-ack')) {
    await p.click('#privacy-ack');
    await waitPage(p, 'live');
    await p.goto(base + '/#/recordings');
    await waitPage(p, 'recordings');
  }
}

// Play the segment whose bar is clicked in the detail strip (ten minutes; the day strip only moves it) and wait until the browser knows its duration.
async function playBar(p, id) {
  await p.click(`#rec-detail rect.rec-seg[data-id="${id}"]`);
  await p.waitForFunction((x) => {
    const v = document.querySelector('#rec-video');
    return v && !v.hidden && v.getAttribute('data-id') === x && v.readyState >= 1 && Number.isFinite(v.duration) && v.duration > 1;
  }, id, { timeout: 20000 });
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
  await page.goto(camera.baseUrl + '/');
  await waitPage(page, 'login');
  await apiFirstLogin(page, camera, password);
  await page.reload();
  await waitPage(page, 'privacy');
  await page.click('#privacy-ack');
  await waitPage(page, 'live');
  // record five 3 s segments, then stop (the page's list stays still while it is tested)
  const on = await apiSend(page, 'PUT', '/api/v1/settings/recording', { mode: 'continuous', segment_seconds: 3 });
  assert.equal(on.status, 200, JSON.stringify(on));
  const deadline = Date.now() + 120000;
  while ((await listed(page)).filter((s) => s.complete).length < 5) {
    assert.ok(Date.now() < deadline, 'five segments recorded within 2 min');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const off = await apiSend(page, 'PUT', '/api/v1/settings/recording', { mode: 'off' });
  assert.equal(off.status, 200, JSON.stringify(off));
  await new Promise((r) => setTimeout(r, 5000)); // the open segment is finished and listed
  consoleErrors.length = 0; // the session probe before the login answers 401, as it should
});

after(async () => {
  if (browser) await browser.close();
  if (camera) assert.deepEqual(await camera.finish(), [], 'sanitizer report in the safecamd log');
});

test('the Recordings page shows the day\'s timeline with one bar per segment', async () => {
  await page.click('#nav-recordings');
  await waitPage(page, 'recordings');
  assert.equal(await page.textContent('#page-title'), STRINGS.vi['recordings.title']);
  const segs = await listed(page);
  assert.ok(segs.length >= 5, JSON.stringify(segs));
  await page.waitForFunction((n) => document.querySelectorAll('#rec-timeline rect.rec-seg').length === n, segs.length);
  const bars = await page.$$eval('#rec-timeline rect.rec-seg', (rs) => rs.map((r) => r.getAttribute('data-id')));
  assert.deepEqual(bars.sort(), segs.map((s) => s.id).sort());
  assert.equal(await page.getAttribute('#rec-summary', 'data-count'), String(segs.length));
  // bars follow the time of day: later segments are further right
  const xs = await page.$$eval('#rec-timeline rect.rec-seg', (rs) => rs.map((r) => Number(r.getAttribute('x'))));
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i] >= xs[i - 1], `bar ${i} after bar ${i - 1}`);
  assert.ok(await page.$('#rec-settings'), 'an administrator sees the settings');
  assert.ok(await page.$('#rec-delete-range'));
  // the download range starts on what was recorded (the end of the last segment), not at midnight
  const lastEnd = Math.ceil(Math.max(...segs.map((s) => s.end_ms)) / 1000);
  const expectTo = await page.evaluate((u) => { const d = new Date(u * 1000); return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':'); }, lastEnd);
  assert.equal(await page.inputValue('#rec-to'), expectTo);
  await shootBothLanguages(page, 'recordings-day', findings);
});

test('a segment plays in the page and seeking moves the playhead', async () => {
  const segs = await listed(page);
  const s = segs[2];
  await playBar(page, s.id);
  const src = await page.getAttribute('#rec-video', 'src');
  assert.equal(src, `/api/v1/recordings/${s.id}`);
  const duration = await page.$eval('#rec-video', (v) => v.duration);
  assert.ok(Math.abs(duration - (s.end_ms - s.start_ms) / 1000) < 1.5, `duration ${duration}`);
  const target = Math.round(duration * 0.6 * 10) / 10;
  const after = await page.evaluate((t) => new Promise((resolve, reject) => {
    const v = document.querySelector('#rec-video');
    v.pause();
    const timer = setTimeout(() => reject(new Error('no seeked event')), 15000);
    v.addEventListener('seeked', () => { clearTimeout(timer); resolve(v.currentTime); }, { once: true });
    v.currentTime = t;
  }), target);
  assert.ok(Math.abs(after - target) < 0.5, `currentTime ${after} after seeking to ${target}`);
  // and back near the start: the browser asks the camera for another range
  const back = await page.evaluate(() => new Promise((resolve) => {
    const v = document.querySelector('#rec-video');
    v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
    v.currentTime = 0.2;
  }));
  assert.ok(back < after, `seeked back: ${back}`);
  assert.equal(await page.getAttribute(`#rec-detail rect.rec-seg[data-id="${s.id}"]`, 'class'), 'rec-seg rec-selected');
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(problems, []);
});

test('a time range downloads as one MP4 that ffprobe reads', async () => {
  const segs = (await listed(page)).sort((a, b) => a.start_ms - b.start_ms);
  // from the end of the 2nd segment's predecessor to the end of the 4th: three segments
  const from = Math.ceil(Math.max(segs[0].end_ms, segs[1].start_ms) / 1000);
  const to = Math.floor(Math.min(segs[4].start_ms, segs[3].end_ms) / 1000);
  assert.ok(to > from);
  const [fromText, toText] = await page.evaluate(([a, b]) => {
    const f = (u) => { const d = new Date(u * 1000); return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':'); };
    return [f(a), f(b)];
  }, [from, to]);
  await page.fill('#rec-from', fromText);
  await page.fill('#rec-to', toText);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#rec-download')]);
  assert.equal(dl.suggestedFilename(), `recording-${from}-${to}.mp4`);
  const file = await dl.path();
  const head = fs.readFileSync(file).subarray(4, 8).toString('latin1');
  assert.equal(head, 'ftyp');
  const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file], { encoding: 'utf8', timeout: 60000 });
  assert.equal(probe.status, 0, probe.stderr);
  const d = Number(probe.stdout.trim());
  const want = [1, 2, 3].reduce((n, i) => n + (segs[i].end_ms - segs[i].start_ms) / 1000, 0);
  assert.ok(Math.abs(d - want) < 2, `downloaded ${d} s, the three segments last ${want} s`);
  await page.waitForSelector('#rec-range-status.status-ok');
  // a range over an hour is refused in the page before any request
  await page.fill('#rec-from', '00:00:00');
  await page.fill('#rec-to', '02:00:00');
  await page.click('#rec-download');
  await page.waitForSelector('#rec-range-status.status-error');
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(problems, []);
});

test('a setting is saved and a segment is deleted through the confirmation dialog', async () => {
  await page.fill('#recording-retention_days', '7');
  await page.click('#recording-save');
  await page.waitForSelector('#recording-status.status-ok');
  assert.equal((await apiGet(page, '/api/v1/settings/recording')).body.retention_days, 7);
  const segs = await listed(page);
  const victim = segs[1];
  await playBar(page, victim.id);
  await page.click('#rec-delete-selected');
  await page.waitForSelector('#rec-delete-dialog');
  await shootBothLanguages(page, 'recordings-delete-dialog', findings);
  await page.click('#rec-delete-dialog-cancel');
  await page.waitForSelector('#rec-range-status.status-info');
  assert.equal((await listed(page)).length, segs.length, 'cancel keeps it');
  await page.click('#rec-delete-selected');
  await page.click('#rec-delete-dialog-ok');
  await page.waitForSelector('#rec-range-status.status-ok');
  const now = await listed(page);
  assert.equal(now.length, segs.length - 1);
  assert.ok(!now.some((s) => s.id === victim.id));
  await page.waitForFunction((n) => document.querySelectorAll('#rec-timeline rect.rec-seg').length === n, now.length);
  assert.equal(await page.isHidden('#rec-video'), true, 'the deleted segment is no longer shown');
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(problems, []);
});

test('a viewer plays recordings but sees no delete or settings control', async () => {
  const created = await apiSend(page, 'POST', '/api/v1/users', { username: 'recviewer', password: viewerPassword, role: 'viewer' });
  assert.equal(created.status, 201, JSON.stringify(created));
  const vctx = await newContext(browser, camera, 'en-US');
  const vpage = await vctx.newPage();
  const vproblems = watchPage(vpage);
  await vpage.goto(camera.baseUrl + '/');
  await waitPage(vpage, 'login');
  await loginForm(vpage, 'recviewer', viewerPassword);
  await waitPage(vpage, 'password');
  const next = strongPassword();
  await vpage.fill('#pw-current', viewerPassword);
  await vpage.fill('#pw-new', next);
  await vpage.fill('#pw-confirm', next);
  await vpage.click('#pw-submit');
  await vpage.waitForSelector('body[data-page="live"] #page-title, body[data-page="privacy"] #page-title');
  await openRecordings(vpage, camera.baseUrl);
  const segs = await listed(page);
  await vpage.waitForFunction((n) => document.querySelectorAll('#rec-timeline rect.rec-seg').length === n, segs.length);
  for (const sel of ['#rec-delete-selected', '#rec-delete-range', '#rec-settings', '#recording-form']) {
    assert.equal(await vpage.$(sel), null, `${sel} not shown to a viewer`);
  }
  assert.ok(await vpage.$('#rec-viewer-note'));
  // a viewer can download but not delete: the card says only what it can do
  assert.equal(await vpage.textContent('#rec-range-title'), 'Download a time range');
  await playBar(vpage, segs[0].id);
  // the camera is the judge: the viewer's own request is refused and nothing is deleted
  assert.equal((await apiSend(vpage, 'DELETE', '/api/v1/recordings', { confirm: true, ids: [segs[0].id] })).status, 403);
  assert.equal((await listed(page)).length, segs.length);
  await vpage.screenshot({ path: artifactPath('recordings-viewer-en.png'), fullPage: true });
  const v = await axeScan(vpage);
  if (v.length) findings.push(`viewer:\n  ${v.join('\n  ')}`);
  assert.deepEqual(vproblems, []);
  assert.deepEqual(vctx.foreignRequests, []);
  await vctx.close();
});

test('no accessibility finding and nothing fetched from elsewhere', () => {
  assert.deepEqual(findings, []);
  assert.deepEqual(ctx.foreignRequests, []);
});
