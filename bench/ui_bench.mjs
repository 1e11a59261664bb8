// ui_bench.mjs — web UI benchmark in Debian's chromium (headless, playwright-core) against the real daemon
// on loopback: bytes transferred to show the live-view page from a cold cache (everything but the video
// stream itself; target < 200 KB), and time to the first decoded video frame of the live view, measured
// from navigation start and from the player's start (median of N runs). Prints one line per number.
// Usage: SAFECAM_BUILD=build node bench/ui_bench.mjs [runs]   (needs tests/browser/node_modules)
import { Camera, launchBrowser, newContext, strongPassword, unavailableReason } from '../tests/browser/camera.mjs';
import { apiFirstLogin, acknowledgePrivacy } from '../tests/browser/helpers.mjs';

const RUNS = Number(process.argv[2] || process.env.UI_BENCH_RUNS || 5);
const why = unavailableReason();
if (why) {
  console.error(`ui_bench: ${why}`);
  process.exit(2);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const camera = new Camera();
let browser;
try {
  await camera.start();
  browser = await launchBrowser();
  const ctx = await newContext(browser, camera, 'vi-VN');
  const setup = await ctx.newPage();
  await setup.goto(camera.baseUrl + '/');
  await setup.waitForSelector('#login-form');
  await apiFirstLogin(setup, camera, strongPassword());
  await setup.reload();
  await setup.waitForSelector('body[data-page="privacy"], body[data-page="live"]');
  await acknowledgePrivacy(setup);
  await setup.close();

  const bytes = [];
  const nav = [];
  const player = [];
  let detail = null;
  for (let i = 0; i < RUNS; i++) {
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const urls = new Map();
    const sizes = new Map();
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
    cdp.on('Network.loadingFinished', (e) => sizes.set(e.requestId, e.encodedDataLength));
    await page.goto(camera.baseUrl + '/#/live');
    await page.waitForFunction(() => {
      const v = document.querySelector('#live-video');
      return v && v.hasAttribute('data-first-frame-nav-ms');
    }, null, { timeout: 30000 });
    const [navMs, playerMs] = await page.$eval('#live-video', (v) => [Number(v.getAttribute('data-first-frame-nav-ms')), Number(v.getAttribute('data-first-frame-ms'))]);
    await page.waitForTimeout(300);
    let total = 0;
    const rows = [];
    for (const [id, size] of sizes) {
      const u = urls.get(id) || '';
      if (u.includes('/api/v1/video/')) continue;
      total += size;
      rows.push([new URL(u).pathname, size]);
    }
    bytes.push(total);
    nav.push(navMs);
    player.push(playerMs);
    if (!detail) detail = rows;
    await page.close();
  }
  console.log(`ui_bench: live-view page bytes transferred (cold cache, no video): ${median(bytes)} B (${(median(bytes) / 1024).toFixed(1)} KiB; target < 200 KiB) in ${detail.length} requests`);
  for (const [p, s] of detail.sort((a, b) => b[1] - a[1])) console.log(`ui_bench:   ${String(s).padStart(7)} B  ${p}`);
  console.log(`ui_bench: time to first frame from navigation start: median ${median(nav)} ms (min ${Math.min(...nav)}, max ${Math.max(...nav)}, ${RUNS} runs)`);
  console.log(`ui_bench: time to first frame from player start: median ${median(player)} ms (min ${Math.min(...player)}, max ${Math.max(...player)})`);
  if (ctx.foreignRequests.length) throw new Error(`requests outside the camera: ${ctx.foreignRequests}`);
} finally {
  if (browser) await browser.close();
  await camera.stop();
  camera.cleanup();
}
