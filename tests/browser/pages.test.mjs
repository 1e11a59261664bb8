// pages.test.mjs — every page of the UI, in Vietnamese and in English, against the real daemon: each is
// photographed into test-artifacts/ui/ (kept by CI as an artifact) and scanned with axe-core (WCAG 2.1 A/AA
// + best practices): no serious or critical violation is allowed. Also a phone-sized viewport with the menu.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Camera, artifactPath, launchBrowser, newContext, strongPassword, unavailableReason } from './camera.mjs';
import { apiGet, axeScan, loginForm, waitPage, watchPage } from './helpers.mjs';
import { STRINGS } from '../../ui/js/strings.js';

// Pages for capabilities that may not exist yet: with the endpoint missing (404) the page must say so and
// offer no action; with it present, the action must be offered.
const CAPABILITIES = {
  captures: [['/api/v1/captures', '#capture-save', '#captures-status', 'common.not_available']],
  // The reset button itself waits for the typed confirmation word; its input is what the capability enables.
  data: [['/api/v1/system/factory-reset', '#reset-word', '#reset-status', 'common.not_available']],
  firmware: [['/api/v1/system/update', '#fw-upload', '#fw-upload-status', 'firmware.upload_not_available']],
  network: [['/api/v1/settings/network', null, '#network-status', 'network.not_available']],
};

const ROUTES = ['live', 'recordings', 'captures', 'stream', 'users', 'security', 'network', 'linked', 'firmware', 'events', 'data', 'privacy', 'password', 'about'];
const cameras = [];
let browser;

after(async () => {
  if (browser) await browser.close();
  for (const c of cameras) {
    await c.stop();
    c.cleanup();
  }
});

async function check(page, lang, name, findings) {
  await page.screenshot({ path: artifactPath(`page-${name}-${lang}.png`), fullPage: true });
  const v = await axeScan(page);
  if (v.length) findings.push(`${name} (${lang}):\n  ${v.join('\n  ')}`);
}

for (const lang of ['vi', 'en']) {
  describe(`every page in ${lang}`, () => {
    test(`pages photographed and accessible (${lang})`, { timeout: 240000 }, async () => {
      const why = unavailableReason();
      if (why) throw new Error(why);
      const camera = new Camera();
      cameras.push(camera);
      await camera.start();
      if (!browser) browser = await launchBrowser();
      const ctx = await newContext(browser, camera, lang === 'vi' ? 'vi-VN' : 'en-US');
      const page = await ctx.newPage();
      const problems = watchPage(page);
      const findings = [];
      const password = strongPassword();

      await page.goto(camera.baseUrl + '/');
      await waitPage(page, 'login');
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      await check(page, lang, 'login', findings);

      await loginForm(page, camera.label.admin_user, camera.label.initial_password);
      await waitPage(page, 'password');
      await page.fill('#pw-current', camera.label.initial_password);
      await page.fill('#pw-new', 'weakpass');
      await page.fill('#pw-confirm', 'weakpass');
      await page.click('#pw-submit');
      await page.waitForSelector('#password-reasons li');
      await check(page, lang, 'password-forced', findings);

      await page.fill('#pw-new', password);
      await page.fill('#pw-confirm', password);
      await page.click('#pw-submit');
      await waitPage(page, 'privacy');
      await check(page, lang, 'privacy-first-setup', findings);
      await page.click('#privacy-ack');
      await waitPage(page, 'live');

      for (const r of ROUTES) {
        await page.goto(`${camera.baseUrl}/#/${r}`);
        await waitPage(page, r);
        if (r === 'live') {
          await page.waitForFunction(() => document.querySelector('#live-state').getAttribute('data-state') !== 'connecting', null, { timeout: 20000 }).catch(() => {});
        } else if (r === 'events') {
          await page.waitForSelector('#events-rows tr');
        } else {
          await page.waitForTimeout(300);
        }
        assert.ok((await page.textContent('#page-title')).length > 0);
        for (const [url, button, statusSel, key] of CAPABILITIES[r] || []) {
          const probe = await apiGet(page, url);
          const said = (await page.textContent(statusSel)).includes(STRINGS[lang][key]);
          if (probe.status === 404) {
            assert.ok(said, `${r}: says ${key} when ${url} is missing`);
            if (button) assert.equal(await page.isDisabled(button), true, `${r}: ${button} disabled`);
          } else {
            assert.ok(!said, `${r}: ${url} exists (${probe.status}), the page must not say it is unavailable`);
            if (button) assert.equal(await page.isDisabled(button), false, `${r}: ${button} enabled`);
          }
        }
        await check(page, lang, r, findings);
      }

      // A confirmation dialog (delete a user), then cancel: nothing changes.
      await page.goto(`${camera.baseUrl}/#/users`);
      await waitPage(page, 'users');
      await page.fill('#new-user-name', 'viewer1');
      await page.fill('#new-user-password', strongPassword());
      await page.click('#new-user-submit');
      await page.waitForSelector('#users-rows tr[data-user="viewer1"]');
      await page.click('#users-rows tr[data-user="viewer1"] button.danger');
      await page.waitForSelector('#user-delete-dialog[open]');
      await check(page, lang, 'dialog-delete-user', findings);
      await page.click('#user-delete-dialog-cancel');
      await page.waitForSelector('#user-delete-dialog', { state: 'detached' });
      assert.ok(await page.$('#users-rows tr[data-user="viewer1"]'), 'cancel deletes nothing');

      // Phone-sized: the navigation folds into a menu button that works from the keyboard.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${camera.baseUrl}/#/about`);
      await waitPage(page, 'about');
      assert.equal(await page.isVisible('#nav'), false);
      await page.focus('#menu-button');
      await page.keyboard.press('Enter');
      assert.equal(await page.getAttribute('#menu-button', 'aria-expanded'), 'true');
      assert.equal(await page.isVisible('#nav-live'), true);
      await check(page, lang, 'mobile-menu', findings);
      // No page is wider than a small phone (375 px): found by hand, the ONVIF address widened the Network
      // page to 507 px in Vietnamese. Wide tables scroll inside their own box.
      await page.setViewportSize({ width: 375, height: 812 });
      const wide = [];
      for (const r of ROUTES) {
        await page.goto(`${camera.baseUrl}/#/${r}`);
        await waitPage(page, r);
        if (r === 'events') await page.waitForSelector('#events-rows tr');
        else await page.waitForTimeout(300);
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        if (w > 375) wide.push(`${r}: ${w} px`);
      }
      assert.deepEqual(wide, [], `pages wider than the phone (${lang})`);
      await page.setViewportSize({ width: 1280, height: 900 });

      // The logged-out login page after logout, with its message.
      await page.click('#logout-button');
      await waitPage(page, 'login');
      await check(page, lang, 'login-after-logout', findings);

      assert.deepEqual(findings, [], 'axe-core serious/critical violations');
      assert.deepEqual(ctx.foreignRequests, []);
      assert.deepEqual(problems, []);
      await ctx.close();
    });
  });
}
