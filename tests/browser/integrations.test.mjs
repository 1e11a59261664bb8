// integrations.test.mjs — integration accounts on the Users page in a real browser against the real daemon: an
// administrator adds one (the secret is shown once, with the copy button and its hint, in Vietnamese and in
// English), the list never carries the secret and a reload no longer shows it, a new secret replaces the old one
// (confirmation dialog), deletion through the dialog (cancel keeps it). Each state is scanned with axe-core.
// docs/integrations.md; QCVN 135 G1 / EN 303 645 5.1.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Camera, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiFirstLogin, apiGet, axeScan, setLang, shootBothLanguages, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

let camera;
let browser;
let page;
const findings = [];
const password = strongPassword();

async function openUsers(p) {
  await p.goto(camera.baseUrl + '/#/users');
  await p.reload();
  await p.waitForSelector('body[data-page="users"] #page-title, body[data-page="privacy"] #page-title');
  if (await p.$('#privacy-ack')) {
    await p.click('#privacy-ack');
    await waitPage(p, 'live');
    await p.goto(camera.baseUrl + '/#/users');
    await waitPage(p, 'users');
  }
  await p.waitForSelector('#integ-create-form');
}

async function secretShown(p) {
  await p.waitForSelector('#integ-secret');
  return (await p.textContent('#integ-secret')).trim();
}

before(async () => {
  const why = unavailableReason();
  if (why) throw new Error(why);
  camera = new Camera();
  await camera.start();
  browser = await launchBrowser();
  const ctx = await newContext(browser, camera, 'vi-VN');
  page = await ctx.newPage();
  watchPage(page);
  await page.goto(camera.baseUrl + '/');
  await waitPage(page, 'login');
  await apiFirstLogin(page, camera, password);
  await openUsers(page);
});

after(async () => {
  if (browser) await browser.close();
  if (camera) assert.deepEqual(await camera.finish(), [], 'sanitizer report in the safecamd log');
});

test('an integration account is created and its secret shown once, in both languages', async () => {
  for (const [lang, name] of [['vi', 'nvr-vi'], ['en', 'nvr-en']]) {
    await setLang(page, lang);
    assert.equal(await page.textContent('#integ-title'), STRINGS[lang]['integ.title']);
    await page.fill('#new-integ-name', name);
    await page.click('#new-integ-submit');
    const secret = await secretShown(page);
    assert.match(secret, /^[A-Za-z0-9._~-]{24}$/);
    assert.ok((await page.textContent('#integ-secret-box')).includes(STRINGS[lang]['integ.copy_hint']));
    assert.equal(await page.textContent('#integ-secret-copy'), STRINGS[lang]['integ.copy']);
    await page.waitForSelector(`#integ-rows tr[data-integration="${name}"]`);
    const listed = await apiGet(page, '/api/v1/integrations');
    assert.equal(listed.status, 200);
    assert.ok(!JSON.stringify(listed.body).includes(secret), 'never listed');
    const html = await page.$eval('#integ-table', (t) => t.outerHTML);
    assert.ok(!html.includes(secret), 'not in the table');
  }
  await shootBothLanguages(page, 'users-integration-secret', findings);
  await openUsers(page); // a reload: the secret is gone for good
  assert.equal(await page.$('#integ-secret'), null);
  assert.equal((await page.$$('#integ-rows tr')).length, 2);
  const v = await axeScan(page);
  assert.deepEqual(v, [], v.join('\n'));
});

test('bad and duplicate names are refused with a message and nothing added', async () => {
  await setLang(page, 'en');
  await page.fill('#new-integ-name', 'Bad Name');
  await page.click('#new-integ-submit');
  await page.waitForSelector('#integ-create-status.status-error');
  await page.fill('#new-integ-name', 'nvr-en');
  await page.click('#new-integ-submit');
  await page.waitForFunction(() => document.querySelector('#integ-create-status').textContent.length > 0);
  assert.ok((await page.textContent('#integ-create-status')).includes(STRINGS.en['error.exists']));
  assert.equal((await apiGet(page, '/api/v1/integrations')).body.integrations.length, 2);
});

test('a new secret replaces the old one; delete asks first', async () => {
  await openUsers(page);
  await setLang(page, 'vi');
  await page.click('#integ-rows tr[data-integration="nvr-vi"] button[data-action="rotate"]');
  await page.waitForSelector('#integ-rotate-dialog[open]');
  await page.click('#integ-rotate-dialog-ok');
  const s2 = await secretShown(page);
  assert.match(s2, /^[A-Za-z0-9._~-]{24}$/);
  await page.waitForSelector('#integ-status.status-ok');
  assert.ok((await page.textContent('#integ-status')).includes(STRINGS.vi['integ.rotated'].split('{')[0].trim()));

  await page.click('#integ-rows tr[data-integration="nvr-vi"] button[data-action="delete"]');
  await page.waitForSelector('#integ-delete-dialog[open]');
  await page.click('#integ-delete-dialog-cancel');
  assert.ok(await page.$('#integ-rows tr[data-integration="nvr-vi"]'), 'cancel deletes nothing');
  await page.click('#integ-rows tr[data-integration="nvr-vi"] button[data-action="delete"]');
  await page.waitForSelector('#integ-delete-dialog[open]');
  await page.click('#integ-delete-dialog-ok');
  await page.waitForFunction(() => !document.querySelector('#integ-rows tr[data-integration="nvr-vi"]'));
  assert.equal(await page.$('#integ-secret'), null, 'the shown secret goes with the account');
  const left = (await apiGet(page, '/api/v1/integrations')).body.integrations.map((i) => i.username);
  assert.deepEqual(left, ['nvr-en']);
  assert.deepEqual(findings, [], findings.join('\n'));
});
