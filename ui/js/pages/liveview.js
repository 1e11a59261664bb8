// pages/liveview.js — the live view (fragmented MP4 over HTTPS with the session cookie) and snapshots.
// Runs in the browser; video and snapshots travel only over the HTTPS origin (QCVN 135 G7, UD-01).
import { h, page, showStatus, statusBox, hideStatus } from '../dom.js';
import { LivePlayer } from '../player.js';
import { tx } from '../i18n.js';

let player = null;
let snapUrl = null;

export function leave() {
  if (player) player.stop();
  player = null;
  if (snapUrl) URL.revokeObjectURL(snapUrl);
  snapUrl = null;
}

export async function render(ctx) {
  leave();
  const status = statusBox('live-status');
  const flash = ctx.takeFlash();
  if (flash) showStatus(status, flash.kind, flash.key, flash.args);
  const videoState = h('p', { id: 'live-state', class: 'live-state', 'aria-live': 'polite', i18n: 'live.connecting' });
  const video = h('video', { id: 'live-video', muted: true, autoplay: true, playsinline: true, 'data-i18n-aria-label': 'live.video_label' });
  video.muted = true;
  const playPause = h('button', { type: 'button', id: 'live-toggle', class: 'secondary', i18n: 'live.pause' });
  const reconnect = h('button', { type: 'button', id: 'live-reconnect', class: 'secondary', i18n: 'live.reconnect' });
  const fullscreen = h('button', { type: 'button', id: 'live-fullscreen', class: 'secondary', i18n: 'live.fullscreen' });
  const snapButton = h('button', { type: 'button', id: 'snapshot-button', class: 'primary', i18n: 'live.snapshot' });
  const snapStatus = statusBox('snapshot-status');
  const snapImg = h('img', { id: 'snapshot-img', hidden: true, 'data-i18n-alt': 'live.snapshot_alt' });
  const snapLink = h('a', { id: 'snapshot-download', hidden: true, download: 'snapshot.jpg', i18n: 'live.snapshot_download' });

  player = new LivePlayer(video, (state, detail) => {
    videoState.setAttribute('data-state', state);
    if (state === 'playing') tx(videoState, 'live.playing');
    else if (state === 'ended') tx(videoState, 'live.ended');
    else if (state === 'connecting') tx(videoState, 'live.connecting');
    else if (detail === 404 || detail === 503) tx(videoState, 'live.unavailable');
    else if (detail === 'unsupported') tx(videoState, 'live.unsupported');
    else if (detail === 401) tx(videoState, 'login.session_ended');
    else tx(videoState, 'live.error', { detail: String(detail) });
  });
  playPause.addEventListener('click', () => {
    if (video.paused) {
      video.play().catch(() => {});
      tx(playPause, 'live.pause');
    } else {
      video.pause();
      tx(playPause, 'live.play');
    }
  });
  reconnect.addEventListener('click', () => player && player.start());
  fullscreen.addEventListener('click', () => {
    if (video.requestFullscreen) video.requestFullscreen().catch(() => {});
  });
  snapButton.addEventListener('click', async () => {
    snapButton.disabled = true;
    hideStatus(snapStatus);
    try {
      const resp = await fetch('/api/v1/video/snapshot.jpg', { credentials: 'same-origin', cache: 'no-store' });
      if (!resp.ok) {
        showStatus(snapStatus, 'error', resp.status === 404 || resp.status === 503 ? 'live.snapshot_unavailable' : 'live.snapshot_failed', { status: resp.status });
        return;
      }
      const blob = await resp.blob();
      if (snapUrl) URL.revokeObjectURL(snapUrl);
      snapUrl = URL.createObjectURL(blob);
      snapImg.src = snapUrl;
      snapImg.hidden = false;
      snapLink.href = snapUrl;
      snapLink.download = `snapshot-${new Date().toISOString().replace(/[:.]/g, '-')}.jpg`;
      snapLink.hidden = false;
      showStatus(snapStatus, 'ok', 'live.snapshot_taken');
    } catch (_) {
      showStatus(snapStatus, 'error', 'error.network');
    } finally {
      snapButton.disabled = false;
    }
  });

  setTimeout(() => player && player.start(), 0);
  return page('live.title', status,
    h('div', { class: 'video-wrap' }, video),
    videoState,
    h('div', { class: 'actions' }, playPause, reconnect, fullscreen),
    h('h2', { i18n: 'live.snapshot_title' }),
    h('div', { class: 'actions' }, snapButton, snapLink),
    snapStatus,
    h('div', { class: 'snapshot-wrap' }, snapImg));
}
