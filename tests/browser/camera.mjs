// camera.mjs — shared helper for the browser tests: provisions a fresh camera state dir with the real
// safecam-provision, runs the real safecamd on free loopback ports with this repo's ui/, waits until
// HTTPS answers a TLS handshake with the device certificate, and launches Debian's chromium headless
// (playwright-core) trusting nothing but loopback. Every byte of traffic stays on 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD = process.env.SAFECAM_BUILD || path.join(REPO, 'build');
export const UI_DIR = path.join(REPO, 'ui');
export const ARTIFACTS = path.join(REPO, 'test-artifacts', 'ui');
export const CHROMIUM = process.env.SAFECAM_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'];

// Path of a built executable (daemon/ or tools/ in the build dir), or null.
export function binPath(name) {
  for (const sub of ['daemon', 'tools']) {
    const p = path.join(BUILD, sub, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

// Why the real camera cannot run here (missing binaries or browser), or null when it can.
export function unavailableReason() {
  for (const n of ['safecamd', 'safecam-provision']) {
    if (!binPath(n)) return `${n} not built in ${BUILD} (set SAFECAM_BUILD)`;
  }
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} missing (apt-get install chromium)`;
  return null;
}

// Loopback ports for parallel test files without a race (binding port 0 and closing it again lets two files,
// or a client connection's source port, get the same port). Ports come from 32000-32767: below the kernel's
// ephemeral range (so no client connection takes one as its source port) and apart from the system tests'
// blocks (20000-31999, tests/system/ports.py). A port belongs to this process while it holds the lock file
// PORT_LOCK_DIR/ui-<port>, created exclusively and holding its pid; a file whose process is gone is stale
// and taken over. This process's files are removed when it exits. Each file starts at its own offset.
const PORT_LOW = 32000;
const PORT_COUNT = 768;
const PORT_LOCK_DIR = process.env.SAFECAM_PORT_LOCK_DIR || '/tmp/safecam-test-ports';
const ownedPortLocks = [];
let portCursor = (process.pid * 37) % PORT_COUNT;
process.on('exit', () => {
  for (const f of ownedPortLocks) {
    try { fs.unlinkSync(f); } catch (_) { /* already gone */ }
  }
});

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

// Take the lock file of a port: true when this process now owns it.
function lockPort(port) {
  const f = path.join(PORT_LOCK_DIR, `ui-${port}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(f, 'wx', 0o666);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      ownedPortLocks.push(f);
      return true;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let owner = 0;
    try { owner = parseInt(fs.readFileSync(f, 'utf8'), 10) || 0; } catch (_) { continue; }
    if (owner === 0 || pidAlive(owner)) return false; // in use (or being written right now)
    try { fs.unlinkSync(f); } catch (_) { /* another process took it over first */ }
  }
  return false;
}

function bindable(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// A TCP port on 127.0.0.1, free now and not handed to any other test process.
export async function freePort() {
  fs.mkdirSync(PORT_LOCK_DIR, { recursive: true, mode: 0o1777 });
  for (let i = 0; i < PORT_COUNT; i++) {
    const port = PORT_LOW + portCursor;
    portCursor = (portCursor + 1) % PORT_COUNT;
    if (lockPort(port) && await bindable(port)) return port;
  }
  throw new Error(`no free test port left in ${PORT_LOW}-${PORT_LOW + PORT_COUNT - 1} (lock files in ${PORT_LOCK_DIR})`);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export class Camera {
  constructor(opts = {}) {
    this.opts = opts;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safecam-ui-'));
    // Started as root, safecamd runs each process as its own user (the walls): they must reach the state dir.
    fs.chmodSync(this.tmp, 0o711);
    this.stateDir = path.join(this.tmp, 'state');
    this.labelPath = path.join(this.tmp, 'label.json');
    this.logPath = path.join(this.tmp, 'safecamd.log');
    this.proc = null;
  }

  provision() {
    const r = spawnSync(binPath('safecam-provision'), ['--state-dir', this.stateDir, '--label-out', this.labelPath],
      { encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`safecam-provision failed (${r.status}): ${r.stderr}`);
    this.label = JSON.parse(fs.readFileSync(this.labelPath, 'utf8'));
    this.cacertPath = path.join(this.stateDir, 'factory', 'tls.crt');
    this.cacert = fs.readFileSync(this.cacertPath, 'utf8');
  }

  get baseUrl() {
    return `https://127.0.0.1:${this.httpsPort}`;
  }

  async start() {
    if (!this.label) this.provision();
    this.httpsPort = this.httpsPort || await freePort();
    this.rtspsPort = this.rtspsPort || await freePort();
    const args = ['--state-dir', this.stateDir, '--bind', '127.0.0.1', '--https-port', String(this.httpsPort),
      '--rtsps-port', String(this.rtspsPort), '--ui-dir', UI_DIR];
    if (this.opts.source) args.push('--source', this.opts.source);
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(binPath('safecamd'), args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.exited = null;
    this.proc.on('exit', (code, sig) => { this.exited = { code, sig }; });
    await this.waitTls();
  }

  log() {
    try { return fs.readFileSync(this.logPath, 'utf8'); } catch (_) { return ''; }
  }

  // Wait until the web process completes a TLS handshake that verifies against the device certificate.
  async waitTls(timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`safecamd exited (${JSON.stringify(this.exited)}):\n${this.log()}`);
      const ok = await new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: this.httpsPort, ca: this.cacert, servername: undefined,
          checkServerIdentity: () => undefined }, () => { s.end(); resolve(true); });
        s.setTimeout(2000, () => { s.destroy(); resolve(false); });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`HTTPS not up after ${timeoutMs} ms:\n${this.log()}`);
  }

  async waitPort(port, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ok = await new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => { s.end(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      if (ok) return true;
      await sleep(100);
    }
    return false;
  }

  async stop() {
    if (this.proc && !this.exited) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => { if (!this.exited) this.proc.kill('SIGKILL'); }, 15000);
      await done;
      clearTimeout(t);
    }
    this.proc = null;
  }

  cleanup() {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  // Stop the camera, remove its temp dir and return the sanitizer lines of its log (the tests assert none).
  async finish() {
    await this.stop();
    const bad = this.sanitizerReport();
    this.cleanup();
    return bad;
  }

  sanitizerReport() {
    return this.log().split('\n').filter((l) => /ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer/.test(l));
  }
}

// A headless chromium that only ever talks to loopback. playwright-core starts it with a new, empty
// --user-data-dir of its own (a temp dir removed on close), so no profile state leaks between runs.
export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

// A browser context for the camera: device certificate errors ignored (self-signed device cert on
// 127.0.0.1), language preference set, and every request to anything but the camera's origin aborted
// and recorded in ctx.foreignRequests (the tests assert it stays empty).
export async function newContext(browser, camera, locale) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale: locale || 'vi-VN', viewport: { width: 1280, height: 900 } });
  ctx.foreignRequests = [];
  await ctx.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.origin === camera.baseUrl || u.protocol === 'blob:' || u.protocol === 'data:') return route.continue();
    ctx.foreignRequests.push(u.href);
    return route.abort();
  });
  return ctx;
}

export function strongPassword() {
  const rnd = Array.from({ length: 10 }, () => 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'[Math.floor(Math.random() * 55)]).join('');
  return `Qz7#${rnd}!9a`;
}

export function artifactPath(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}
