// live.test.mjs — the browser live view end to end: the real safecamd (test pattern), Debian's chromium
// headless via playwright-core, a real login (initial password changed first), then ui/live.html plays
// /api/v1/video/live.mp4 through MSE. Asserts the video's time advances and the glass-to-glass latency read
// off the test pattern's timecode stays within the 1 s target. All traffic stays on 127.0.0.1.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Camera, launchBrowser, newContext, strongPassword, unavailableReason, artifactPath } from './camera.mjs';

const why = unavailableReason();

test('live view plays in chromium with low latency', { skip: why || false, timeout: 120000 }, async () => {
  const cam = new Camera();
  let browser;
  try {
    await cam.start();
    assert.ok(await cam.waitPort(cam.rtspsPort), `media did not come up:\n${cam.log()}`);
    browser = await launchBrowser();
    const ctx = await newContext(browser, cam, 'en-US');
    const api = ctx.request;
    const base = cam.baseUrl;
    const user = cam.label.admin_user;
    let r = await api.post(`${base}/api/v1/session`, { data: { username: user, password: cam.label.initial_password } });
    assert.equal(r.status(), 200, await r.text());
    let csrf = (await r.json()).csrf_token;
    const pw = strongPassword();
    r = await api.put(`${base}/api/v1/users/${user}/password`, {
      headers: { 'X-CSRF-Token': csrf }, data: { current_password: cam.label.initial_password, new_password: pw } });
    assert.equal(r.status(), 204, await r.text());
    r = await api.post(`${base}/api/v1/session`, { data: { username: user, password: pw } });
    assert.equal(r.status(), 200, await r.text());

    const page = await ctx.newPage();
    await page.goto(`${base}/live.html`);
    // The video's clock advances: frames are decoded and played.
    await page.waitForFunction(() => document.getElementById('live').currentTime > 3, null, { timeout: 30000 });
    const t1 = await page.evaluate(() => document.getElementById('live').currentTime);
    await page.waitForTimeout(2000);
    const t2 = await page.evaluate(() => document.getElementById('live').currentTime);
    assert.ok(t2 - t1 > 1.5, `currentTime advanced only ${t2 - t1} s`);
    const size = await page.evaluate(() => [document.getElementById('live').videoWidth, document.getElementById('live').videoHeight]);
    assert.deepEqual(size, [1280, 720]);
    // Glass-to-glass latency from the test pattern's timecode (median of the last samples).
    await page.waitForFunction(() => document.getElementById('latency').dataset.latencyMs !== '', null, { timeout: 10000 });
    await page.waitForTimeout(3000);
    const latency = Number(await page.evaluate(() => document.getElementById('latency').dataset.latencyMs));
    await page.screenshot({ path: artifactPath('live.png') });
    console.log(`live view latency (median): ${latency} ms`);
    assert.ok(latency >= 0 && latency < 1000, `latency ${latency} ms`);
    assert.deepEqual(ctx.foreignRequests, []);

    // Without a session the feed is refused.
    const anon = await newContext(browser, cam, 'en-US');
    r = await anon.request.get(`${base}/api/v1/video/live.mp4`);
    assert.equal(r.status(), 401);
  } finally {
    if (browser) await browser.close();
    assert.deepEqual(await cam.finish(), []);
  }
});
