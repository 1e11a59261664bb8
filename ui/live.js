// live.js — the minimal live view of live.html: fetches the camera's fragmented MP4 (same origin, session
// cookie), appends it to a SourceBuffer, stays within ~0.3 s of the live edge, and measures glass-to-glass
// latency from the timecode the test pattern draws (a row of 34 blocks: white, black, then 32 bits of
// wall-clock milliseconds mod 2^32, see include/safecam/media.h). Runs in the browser; the stream is
// untrusted bytes that only the browser's media stack parses.

const URL_LIVE = '/api/v1/video/live.mp4';
const BLOCKS = 34;
const EDGE_S = 0.3;   // target distance behind the newest buffered frame
const MAX_LAG_S = 1.0; // seek forward when further behind than this

const video = document.getElementById('live');
const stateEl = document.getElementById('state');
const latencyEl = document.getElementById('latency');

function setState(s) {
  stateEl.textContent = s;
  document.body.dataset.state = s;
}

// Block size in pixels for a frame width (same formula as media_timecode_block_px()).
function blockPx(width) {
  let bs = Math.floor(width / (BLOCKS + 6));
  bs = Math.min(16, Math.max(2, bs));
  return bs & ~1;
}

const canvas = document.createElement('canvas');
const ctx2d = canvas.getContext('2d', { willReadFrequently: true });
const samples = [];

// Read the timecode off the current frame; returns latency in ms or null when there is none.
function readLatency() {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h || video.readyState < 2) return null;
  const bs = blockPx(w);
  canvas.width = bs * BLOCKS;
  canvas.height = bs;
  ctx2d.drawImage(video, 0, 0, bs * BLOCKS, bs, 0, 0, bs * BLOCKS, bs);
  const px = ctx2d.getImageData(0, 0, bs * BLOCKS, bs).data;
  const lum = (b) => {
    const i = ((bs >> 1) * bs * BLOCKS + b * bs + (bs >> 1)) * 4;
    return (px[i] + px[i + 1] + px[i + 2]) / 3;
  };
  if (lum(0) < 160 || lum(1) > 96) return null; // no timecode (file or camera source)
  let ms = 0;
  for (let b = 2; b < BLOCKS; b++) ms = ms * 2 + (lum(b) > 128 ? 1 : 0);
  const now = Date.now() % 4294967296;
  let d = now - ms;
  if (d < -2147483648) d += 4294967296;
  return d;
}

function keepLive() {
  const b = video.buffered;
  if (!b.length) return;
  const end = b.end(b.length - 1);
  if (end - video.currentTime > MAX_LAG_S) video.currentTime = Math.max(b.start(b.length - 1), end - EDGE_S);
}

setInterval(() => {
  keepLive();
  const l = readLatency();
  if (l === null) return;
  samples.push(l);
  if (samples.length > 25) samples.shift();
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  latencyEl.textContent = `${median} ms`;
  latencyEl.dataset.latencyMs = String(median);
}, 200);

async function play() {
  setState('connecting');
  if (!('MediaSource' in window)) {
    setState('unsupported');
    return;
  }
  const resp = await fetch(URL_LIVE, { credentials: 'same-origin', cache: 'no-store' });
  if (!resp.ok || !resp.body) {
    setState(resp.status === 401 ? 'login required' : `error ${resp.status}`);
    return;
  }
  const ctype = resp.headers.get('Content-Type') || 'video/mp4; codecs="avc1.42E01F"';
  if (!MediaSource.isTypeSupported(ctype)) {
    setState('unsupported');
    return;
  }
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
  const sb = ms.addSourceBuffer(ctype);
  const queue = [];
  const pump = () => {
    if (sb.updating || !queue.length || ms.readyState !== 'open') return;
    const b = video.buffered;
    if (b.length && video.currentTime - b.start(0) > 20) {
      sb.remove(b.start(0), video.currentTime - 10);
      return;
    }
    const parts = queue.splice(0, queue.length);
    const total = parts.reduce((n, p) => n + p.length, 0);
    const chunk = new Uint8Array(total);
    let o = 0;
    for (const p of parts) { chunk.set(p, o); o += p.length; }
    sb.appendBuffer(chunk);
  };
  sb.addEventListener('updateend', pump);
  const reader = resp.body.getReader();
  setState('playing');
  video.play().catch(() => {});
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    queue.push(value);
    pump();
  }
  setState('ended');
}

play().catch((e) => setState(`error ${e && e.name ? e.name : ''}`));
