// player.js — plays the camera's live fragmented MP4 (GET /api/v1/video/live.mp4, session cookie) in a
// <video> element through Media Source Extensions, staying close to the live edge; falls back to a plain
// progressive <video src> where MSE is missing. Runs in the browser; the stream is untrusted bytes that
// only the browser's media stack parses (we only look for the avcC box to name the codec).

const LIVE_URL = '/api/v1/video/live.mp4';
const MAX_PROBE_BYTES = 1024 * 1024;
const LIVE_EDGE_S = 0.3;      // target distance behind the newest frame, seconds
const MAX_LAG_S = 1.5;        // jump forward when further behind than this
const KEEP_BEHIND_S = 10;     // buffered seconds kept behind the play position

function findBox(buf, name) {
  const a = name.charCodeAt(0); const b = name.charCodeAt(1); const c = name.charCodeAt(2); const d = name.charCodeAt(3);
  for (let i = 0; i + 4 <= buf.length; i++) {
    if (buf[i] === a && buf[i + 1] === b && buf[i + 2] === c && buf[i + 3] === d) return i;
  }
  return -1;
}

function hex2(n) {
  return n.toString(16).padStart(2, '0');
}

// The codecs parameter from an init segment, or null when it is not complete yet.
export function codecFromInit(buf) {
  const moov = findBox(buf, 'moov');
  if (moov < 4) return null;
  const size = ((buf[moov - 4] << 24) >>> 0) + (buf[moov - 3] << 16) + (buf[moov - 2] << 8) + buf[moov - 1];
  if (moov - 4 + size > buf.length) return null;
  const codecs = [];
  const avcc = findBox(buf, 'avcC');
  if (avcc >= 0 && avcc + 8 <= buf.length) codecs.push(`avc1.${hex2(buf[avcc + 5])}${hex2(buf[avcc + 6])}${hex2(buf[avcc + 7])}`);
  if (findBox(buf, 'mp4a') >= 0) codecs.push('mp4a.40.2');
  return codecs.length ? codecs.join(',') : 'avc1.42E01E';
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export class LivePlayer {
  // onState(state, detail): 'connecting' | 'playing' | 'error' (detail: HTTP status or 'unsupported'/'network') | 'ended'
  constructor(video, onState, url) {
    this.video = video;
    this.onState = onState || (() => {});
    this.url = url || LIVE_URL;
    this.abort = null;
    this.objectUrl = null;
    this.queue = [];
    this.sb = null;
    this.stopped = true;
    this.firstFrameSeen = false;
    this.onTime = () => this.keepLive();
  }

  async start() {
    this.stop();
    this.stopped = false;
    this.firstFrameSeen = false;
    this.video.removeAttribute('data-first-frame-ms');
    this.video.removeAttribute('data-first-frame-nav-ms');
    this.startedAt = performance.now();
    this.onState('connecting');
    this.watchFirstFrame();
    if (!('MediaSource' in window)) {
      this.video.src = this.url;
      this.video.play().catch(() => {});
      return;
    }
    this.abort = new AbortController();
    let resp;
    try {
      resp = await fetch(this.url, { credentials: 'same-origin', cache: 'no-store', signal: this.abort.signal });
    } catch (e) {
      if (!this.stopped) this.onState('error', 'network');
      return;
    }
    if (!resp.ok || !resp.body) {
      this.onState('error', resp.status);
      return;
    }
    const reader = resp.body.getReader();
    const ms = new MediaSource();
    this.ms = ms;
    this.objectUrl = URL.createObjectURL(ms);
    this.video.src = this.objectUrl;
    await new Promise((res) => ms.addEventListener('sourceopen', res, { once: true }));
    let probe = new Uint8Array(0);
    let codec = null;
    const ctype = resp.headers.get('Content-Type') || '';
    const m = /codecs="?([^";]+)"?/.exec(ctype);
    if (m) codec = m[1];
    try {
      while (!this.stopped) {
        const { value, done } = await reader.read();
        if (done) break;
        if (!this.sb) {
          probe = concat(probe, value);
          if (!codec) codec = codecFromInit(probe);
          if (!codec) {
            if (probe.length > MAX_PROBE_BYTES) throw new Error('no init segment');
            continue;
          }
          const type = `video/mp4; codecs="${codec}"`;
          if (!MediaSource.isTypeSupported(type)) {
            this.onState('error', 'unsupported');
            this.stop();
            return;
          }
          this.sb = ms.addSourceBuffer(type);
          this.sb.mode = 'segments';
          this.sb.addEventListener('updateend', () => this.pump());
          this.video.addEventListener('timeupdate', this.onTime);
          this.queue.push(probe);
          probe = null;
          this.pump();
          this.video.play().catch(() => {});
        } else {
          this.queue.push(value);
          this.pump();
        }
      }
      if (!this.stopped) this.onState('ended');
    } catch (e) {
      if (!this.stopped) this.onState('error', e && e.name === 'QuotaExceededError' ? 'quota' : 'network');
    }
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || this.stopped || this.ms.readyState !== 'open') return;
    const v = this.video;
    if (v.buffered.length && v.currentTime - v.buffered.start(0) > KEEP_BEHIND_S * 2) {
      sb.remove(v.buffered.start(0), v.currentTime - KEEP_BEHIND_S);
      return;
    }
    if (!this.queue.length) return;
    let chunk = this.queue.shift();
    while (this.queue.length && chunk.length < 256 * 1024) chunk = concat(chunk, this.queue.shift());
    try {
      sb.appendBuffer(chunk);
    } catch (e) {
      this.onState('error', 'append');
      this.stop();
    }
  }

  keepLive() {
    const v = this.video;
    if (!v.buffered.length) return;
    const end = v.buffered.end(v.buffered.length - 1);
    if (end - v.currentTime > MAX_LAG_S) v.currentTime = Math.max(end - LIVE_EDGE_S, 0);
    if (v.paused && !this.stopped) v.play().catch(() => {});
  }

  watchFirstFrame() {
    const v = this.video;
    const mark = () => {
      if (this.firstFrameSeen || this.stopped) return;
      this.firstFrameSeen = true;
      v.setAttribute('data-first-frame-ms', String(Math.round(performance.now() - this.startedAt)));
      v.setAttribute('data-first-frame-nav-ms', String(Math.round(performance.now())));
      this.onState('playing');
    };
    if (typeof v.requestVideoFrameCallback === 'function') v.requestVideoFrameCallback(mark);
    else v.addEventListener('playing', mark, { once: true });
  }

  stop() {
    this.stopped = true;
    if (this.abort) this.abort.abort();
    this.abort = null;
    this.video.removeEventListener('timeupdate', this.onTime);
    this.queue = [];
    this.sb = null;
    if (this.video.hasAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
  }
}
