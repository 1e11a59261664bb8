// pages/recordings.js — recordings stored on the camera: a day picker and the day's timeline (segments as bars,
// a mark on segments with motion), playback of a segment in the page (<video>, the server answers Range so the
// browser seeks), download of a time range as one MP4, and for administrators the recording settings and the
// deletion of the selected segment or of a time range, each after a confirmation dialog.
// API: GET /api/v1/recordings?from=&to=, GET /api/v1/recordings/{id}, GET /api/v1/recordings/export?from=&to=,
// DELETE /api/v1/recordings {"confirm":true,...}, GET/PUT /api/v1/settings/recording.
// QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1. The timeline is SVG drawn with attributes (no inline style: CSP).
import { probe, request } from '../api.js';
import { confirmDialog, formatBytes, h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { formatTime, t } from '../i18n.js';
import { settingsPage } from '../settings-form.js';

const LIST_URL = '/api/v1/recordings';
const EXPORT_MAX_S = 3600; // the server's bound (422 range_too_long beyond)
const LIST_PAGES_MAX = 50; // 1000 segments a page: a day of 2 s segments at most
const SVG = 'http://www.w3.org/2000/svg';
const DETAIL_S = 600; // the detail timeline shows ten minutes: a 2 s segment is still a bar one can click

export const RECORDING_FIELDS = [
  { key: 'mode', label: 'recordings.mode', type: 'choice', hint: 'recordings.mode_hint', choices: [['off', 'recordings.mode_off'], ['continuous', 'recordings.mode_continuous'], ['events', 'recordings.mode_events']] },
  { key: 'segment_seconds', label: 'recordings.segment_seconds', type: 'int', min: 2, max: 600, unit: 's' },
  { key: 'retention_days', label: 'recordings.retention_days', type: 'int', min: 0, max: 3650, unit: 'd', hint: 'recordings.retention_hint' },
  { key: 'max_bytes', label: 'recordings.max_bytes', type: 'int', min: 0, max: 1099511627776, unit: 'B', hint: 'recordings.max_bytes_hint' },
  { key: 'pre_roll_s', label: 'recordings.pre_roll_s', type: 'int', min: 0, max: 60, unit: 's' },
  { key: 'post_roll_s', label: 'recordings.post_roll_s', type: 'int', min: 0, max: 600, unit: 's' },
  { key: 'motion_sensitivity', label: 'recordings.motion_sensitivity', type: 'int', min: 1, max: 100, hint: 'recordings.motion_sensitivity_hint' },
];

let current = null;

export function leave() {
  if (current) current.stop();
  current = null;
}

export function onLang() {
  if (current) current.redraw();
}

function validSegment(s) {
  return s && typeof s.id === 'string' && /^[0-9a-f]{32}$/.test(s.id) && Number.isFinite(s.start_ms)
    && Number.isFinite(s.end_ms) && s.end_ms >= s.start_ms && Number.isFinite(s.bytes);
}

const pad = (n) => String(n).padStart(2, '0');

function dayString(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// [start, end) of a local day "YYYY-MM-DD" in Unix seconds (a day may be 23 or 25 h long with summer time).
function dayRange(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  const d = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : new Date();
  const start = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const end = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1);
  return [Math.floor(start.getTime() / 1000), Math.floor(end.getTime() / 1000)];
}

// "HH:MM" or "HH:MM:SS" -> seconds into the day, or NaN.
function timeOfDay(v) {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v || '');
  if (!m) return NaN;
  const s = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] || 0);
  return Number(m[1]) < 24 && Number(m[2]) < 60 && Number(m[3] || 0) < 60 ? s : NaN;
}

function hms(unix) {
  const d = new Date(unix * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

export async function render(ctx) {
  leave();
  const isAdmin = !!(ctx.session && ctx.session.role === 'admin');
  const status = statusBox('recordings-status');
  let present = true;
  try {
    present = (await probe(`${LIST_URL}?from=0&to=1`)).present;
  } catch (_) { /* the day's list below shows the error */ }
  if (!present) {
    showStatus(status, 'info', 'common.not_available');
    return page('recordings.title', h('p', { class: 'lead', i18n: 'recordings.intro' }), status);
  }

  let segs = [];
  let selected = null;
  let [dayStart, dayEnd] = dayRange(dayString(new Date()));

  const dayInput = h('input', { type: 'date', id: 'rec-day', name: 'day', value: dayString(new Date()), required: true });
  const prevBtn = h('button', { type: 'button', class: 'secondary', id: 'rec-day-prev', i18n: 'recordings.prev_day' });
  const nextBtn = h('button', { type: 'button', class: 'secondary', id: 'rec-day-next', i18n: 'recordings.next_day' });
  const summary = h('p', { id: 'rec-summary', 'aria-live': 'polite' });
  const timeline = svg('svg', { id: 'rec-timeline', class: 'rec-timeline', viewBox: '0 0 1440 48', preserveAspectRatio: 'none', role: 'img' });
  const detail = svg('svg', { id: 'rec-detail', class: 'rec-timeline rec-detail', viewBox: '0 0 1440 48', preserveAspectRatio: 'none', role: 'img' });
  const detailLabel = h('p', { id: 'rec-detail-label', class: 'hint' });
  const timelineWrap = h('div', { class: 'rec-timeline-wrap' }, h('p', { class: 'hint', i18n: 'recordings.day_hint' }), timeline, detailLabel, detail);
  let windowStart = null; // start of the detail window (Unix s)
  const legend = h('p', { class: 'hint rec-legend' },
    h('span', { class: 'rec-key rec-key-seg', 'aria-hidden': 'true' }), h('span', { i18n: 'recordings.legend_segment' }), ' ',
    h('span', { class: 'rec-key rec-key-motion', 'aria-hidden': 'true' }), h('span', { i18n: 'recordings.legend_motion' }));
  const listTitle = h('h2', { id: 'rec-list-title', tabindex: '-1', i18n: 'recordings.list_title' });
  const tbody = h('tbody', { id: 'rec-rows' });
  const headCells = [
    h('th', { scope: 'col', i18n: 'recordings.col_start' }),
    h('th', { scope: 'col', i18n: 'recordings.col_length' }),
    h('th', { scope: 'col', i18n: 'recordings.col_size' }),
    h('th', { scope: 'col', i18n: 'recordings.col_play' }),
  ];
  const table = h('table', { class: 'table recordings', id: 'rec-table', 'aria-labelledby': 'rec-list-title' },
    h('thead', null, h('tr', null, headCells)), tbody);
  const tableWrap = h('div', { class: 'table-wrap rec-table-wrap' }, table);

  const video = h('video', { id: 'rec-video', class: 'rec-video', controls: true, preload: 'metadata', playsinline: true, hidden: true });
  const nowPlaying = h('p', { id: 'rec-now-playing', class: 'hint' });
  const deleteOneBtn = isAdmin ? h('button', { type: 'button', class: 'danger', id: 'rec-delete-selected', i18n: 'recordings.delete_selected', disabled: true }) : null;

  const fromInput = h('input', { type: 'time', id: 'rec-from', name: 'from', step: '1', required: true, value: '00:00:00' });
  const toInput = h('input', { type: 'time', id: 'rec-to', name: 'to', step: '1', required: true, value: '00:10:00' });
  const downloadBtn = h('button', { type: 'button', class: 'primary', id: 'rec-download', i18n: 'recordings.download_range' });
  const deleteRangeBtn = isAdmin ? h('button', { type: 'button', class: 'danger', id: 'rec-delete-range', i18n: 'recordings.delete_range' }) : null;
  const rangeStatus = statusBox('rec-range-status');
  let rangeTouched = false; // the user (or a played segment) set the range: a reload keeps it
  for (const el of [fromInput, toInput]) el.addEventListener('input', () => { rangeTouched = true; });

  function selectedRange() {
    const a = timeOfDay(fromInput.value);
    const b = timeOfDay(toInput.value);
    if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) return null;
    return [dayStart + a, Math.min(dayStart + b, dayEnd)];
  }

  function overlapping(from, to) {
    return segs.filter((s) => s.end_ms > from * 1000 && s.start_ms < to * 1000);
  }

  function play(s) {
    selected = s;
    hideStatus(status);
    video.hidden = false;
    video.src = `${LIST_URL}/${encodeURIComponent(s.id)}`;
    video.setAttribute('data-id', s.id);
    if (s.start_ms / 1000 < windowStart || s.end_ms / 1000 > windowStart + DETAIL_S) windowStart = clampWindow(s.start_ms / 1000 - DETAIL_S / 2);
    nowPlaying.textContent = t('recordings.now_playing', { time: formatTime(s.start_ms / 1000) });
    if (deleteOneBtn) deleteOneBtn.disabled = false;
    // the range inputs follow the segment, so "download" or "delete range" act on what is seen: whole seconds
    // inside it, so that a neighbour overlapping it by a fraction of a second (a cut) is not taken too
    let a = Math.ceil(s.start_ms / 1000) + 1, b = Math.floor(s.end_ms / 1000) - 1;
    if (b <= a) [a, b] = [Math.floor(s.start_ms / 1000), Math.ceil(s.end_ms / 1000)];
    fromInput.value = hms(Math.max(dayStart, a));
    toInput.value = hms(Math.min(dayEnd - 1, b));
    rangeTouched = true;
    redraw();
    video.play().catch(() => { /* autoplay refused: the controls are there */ });
  }

  // One strip of bars for [from, to): the day (overview) or the detail window.
  function strip(el, from, to, ticks) {
    const scale = 1440 / Math.max(1, to - from); // viewBox units per second
    const parts = [svg('rect', { class: 'rec-track', x: 0, y: 14, width: 1440, height: 24 })];
    for (let i = 0; i <= ticks; i++) {
      const x = (1440 * i) / ticks;
      parts.push(svg('line', { class: 'rec-tick', x1: x, y1: 10, x2: x, y2: 42 }));
    }
    if (el === timeline && windowStart !== null) {
      parts.push(svg('rect', { class: 'rec-window', x: ((windowStart - from) * scale).toFixed(2), y: 12, width: (DETAIL_S * scale).toFixed(2), height: 28 }));
    }
    for (const s of segs) {
      if (s.end_ms / 1000 <= from || s.start_ms / 1000 >= to) continue;
      const x = Math.max(0, (s.start_ms / 1000 - from) * scale);
      const x2 = Math.min(1440, (s.end_ms / 1000 - from) * scale);
      const w = Math.max(1, x2 - x);
      const cls = 'rec-seg' + (selected && selected.id === s.id ? ' rec-selected' : '') + (s.complete === false ? ' rec-partial' : '');
      const r = svg('rect', { class: cls, x: x.toFixed(2), y: 16, width: w.toFixed(2), height: 20, 'data-id': s.id },
        svg('title', null, document.createTextNode(formatTime(s.start_ms / 1000))));
      if (el === detail) {
        r.addEventListener('click', (ev) => { ev.stopPropagation(); play(s); });
      }
      parts.push(r);
      if (s.event === 'motion') {
        parts.push(svg('rect', { class: 'rec-motion', x: x.toFixed(2), y: 4, width: Math.max(2, w).toFixed(2), height: 8, 'data-id': s.id }));
      }
    }
    el.replaceChildren(...parts);
  }

  function clampWindow(t) {
    return Math.max(dayStart, Math.min(dayEnd - DETAIL_S, Math.floor(t)));
  }

  function drawTimeline() {
    if (windowStart === null || windowStart < dayStart || windowStart >= dayEnd) {
      const last = segs.length ? segs[segs.length - 1].end_ms / 1000 : dayStart + DETAIL_S;
      windowStart = clampWindow(last - (DETAIL_S * 3) / 4); // the latest recording three quarters along
    }
    strip(timeline, dayStart, dayEnd, 8);
    strip(detail, windowStart, windowStart + DETAIL_S, 10);
    timeline.setAttribute('aria-label', t('recordings.timeline_label', { day: dayInput.value, count: segs.length }));
    const n = segs.filter((s) => s.end_ms / 1000 > windowStart && s.start_ms / 1000 < windowStart + DETAIL_S).length;
    detail.setAttribute('aria-label', t('recordings.detail_label', { from: hms(windowStart), to: hms(windowStart + DETAIL_S), count: n }));
    detailLabel.textContent = t('recordings.detail_title', { from: hms(windowStart), to: hms(windowStart + DETAIL_S) });
  }

  // a click on the day moves the detail window there
  timeline.addEventListener('click', (ev) => {
    const box = timeline.getBoundingClientRect();
    if (!box.width) return;
    const at = dayStart + ((ev.clientX - box.left) / box.width) * (dayEnd - dayStart);
    windowStart = clampWindow(at - DETAIL_S / 2);
    drawTimeline();
  });

  function row(s) {
    const time = formatTime(s.start_ms / 1000);
    const secs = Math.round((s.end_ms - s.start_ms) / 100) / 10;
    const btn = h('button', { type: 'button', class: 'secondary rec-play', id: 'rec-play-' + s.id },
      h('span', { i18n: 'recordings.play' }), h('span', { class: 'visually-hidden', text: ` (${time})` }));
    btn.addEventListener('click', () => play(s));
    const mark = s.event === 'motion' ? h('span', { class: 'rec-motion-tag', i18n: 'recordings.motion' }) : null;
    return h('tr', { 'data-id': s.id, class: selected && selected.id === s.id ? 'rec-row-selected' : null },
      h('th', { scope: 'row', class: 'rec-time' }, time, mark ? ' ' : null, mark),
      h('td', { text: t('recordings.seconds', { s: secs }) }),
      h('td', { text: formatBytes(s.bytes) }),
      h('td', null, btn));
  }

  function redraw() {
    drawTimeline();
    summary.textContent = segs.length
      ? t('recordings.summary', { count: segs.length, size: formatBytes(segs.reduce((n, s) => n + s.bytes, 0)) })
      : t('recordings.empty');
    summary.setAttribute('data-count', String(segs.length));
    tableWrap.hidden = segs.length === 0;
    tbody.replaceChildren(...segs.map(row));
    if (!selected) nowPlaying.textContent = t('recordings.pick');
  }

  let loadSeq = 0;
  async function load() {
    const seq = ++loadSeq;
    [dayStart, dayEnd] = dayRange(dayInput.value);
    const got = [];
    let from = dayStart;
    try {
      for (let i = 0; i < LIST_PAGES_MAX; i++) {
        const r = await request('GET', `${LIST_URL}?from=${from}&to=${dayEnd}`);
        const list = r && Array.isArray(r.recordings) ? r.recordings : [];
        for (const s of list) if (validSegment(s) && !got.some((g) => g.id === s.id)) got.push(s);
        if (!r || !Number.isFinite(r.next_from) || r.next_from <= from) break;
        from = r.next_from;
      }
    } catch (e) {
      if (seq === loadSeq && e.status !== 401) showError(status, e, h('p', { i18n: 'recordings.load_failed' }));
    }
    if (seq !== loadSeq) return;
    segs = got.sort((a, b) => a.start_ms - b.start_ms);
    // until the user sets a range, it covers the last ten minutes recorded that day (not midnight)
    if (!rangeTouched && segs.length) {
      const end = Math.min(dayEnd - 1, Math.ceil(segs[segs.length - 1].end_ms / 1000));
      fromInput.value = hms(Math.max(dayStart, end - DETAIL_S));
      toInput.value = hms(end);
    }
    if (selected && !segs.some((s) => s.id === selected.id)) {
      selected = null;
      video.removeAttribute('src');
      video.load();
      video.hidden = true;
      if (deleteOneBtn) deleteOneBtn.disabled = true;
    }
    redraw();
  }

  function shiftDay(n) {
    const [y, m, d] = dayInput.value.split('-').map(Number);
    const nd = Number.isFinite(y) ? new Date(y, m - 1, d + n) : new Date();
    dayInput.value = dayString(nd);
    rangeTouched = false;
    load();
  }

  dayInput.addEventListener('change', () => { rangeTouched = false; load(); });
  prevBtn.addEventListener('click', () => shiftDay(-1));
  nextBtn.addEventListener('click', () => shiftDay(1));

  downloadBtn.addEventListener('click', () => {
    hideStatus(rangeStatus);
    const r = selectedRange();
    if (!r) {
      showStatus(rangeStatus, 'error', 'recordings.range_invalid');
      return;
    }
    if (r[1] - r[0] > EXPORT_MAX_S) {
      showStatus(rangeStatus, 'error', 'error.range_too_long');
      return;
    }
    if (!overlapping(r[0], r[1]).length) {
      showStatus(rangeStatus, 'info', 'recordings.range_empty');
      return;
    }
    // a plain link: the browser streams the file to disk (no copy of the video in the page's memory)
    const a = h('a', { href: `${LIST_URL}/export?from=${r[0]}&to=${r[1]}`, download: `recording-${r[0]}-${r[1]}.mp4`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    showStatus(rangeStatus, 'ok', 'recordings.download_started', { from: hms(r[0]), to: hms(r[1]) });
  });

  async function runDelete(body, dialog) {
    const yes = await confirmDialog(dialog);
    if (!yes) {
      showStatus(rangeStatus, 'info', 'recordings.cancelled');
      return;
    }
    try {
      const r = await request('DELETE', LIST_URL, { confirm: true, ...body });
      const failed = r && Array.isArray(r.failed) ? r.failed.length : 0;
      const n = r && Number.isFinite(r.count) ? r.count : 0;
      if (failed) showStatus(rangeStatus, 'error', 'recordings.deleted_partly', { count: n, failed });
      else showStatus(rangeStatus, 'ok', 'recordings.deleted', { count: n });
    } catch (e) {
      showError(rangeStatus, e, h('p', { i18n: 'recordings.delete_failed' }));
    }
    await load();
  }

  if (deleteOneBtn) {
    deleteOneBtn.addEventListener('click', () => {
      hideStatus(rangeStatus);
      if (!selected) return;
      runDelete({ ids: [selected.id] }, { id: 'rec-delete-dialog', title: 'recordings.delete_one_title', text: 'recordings.delete_one_text', args: { time: formatTime(selected.start_ms / 1000) }, confirm: 'recordings.delete', danger: true });
    });
  }
  if (deleteRangeBtn) {
    deleteRangeBtn.addEventListener('click', () => {
      hideStatus(rangeStatus);
      const r = selectedRange();
      if (!r) {
        showStatus(rangeStatus, 'error', 'recordings.range_invalid');
        return;
      }
      const n = overlapping(r[0], r[1]).length;
      if (!n) {
        showStatus(rangeStatus, 'info', 'recordings.range_empty');
        return;
      }
      runDelete({ from: r[0], to: r[1] }, { id: 'rec-delete-range-dialog', title: 'recordings.delete_range_title', text: 'recordings.delete_range_text', args: { count: n, from: hms(r[0]), to: hms(r[1]) }, confirm: 'recordings.delete', danger: true });
    });
  }

  current = { redraw, stop: () => { loadSeq += 1; video.pause(); } };
  await load();

  let settings = null;
  if (isAdmin) {
    // the shared settings form (GET/PUT with the CSRF token, refusals shown at the field), without its page frame
    const built = await settingsPage(ctx, { id: 'recording', url: '/api/v1/settings/recording', title: 'recordings.settings_title', intro: 'recordings.settings_intro', fields: RECORDING_FIELDS });
    const parts = [...built.children].filter((c) => c.id !== 'page-title');
    settings = h('section', { class: 'rec-settings', id: 'rec-settings', 'aria-labelledby': 'rec-settings-title' },
      h('h2', { id: 'rec-settings-title', i18n: 'recordings.settings_title' }), ...parts);
  }

  const player = h('div', { class: 'card rec-player', id: 'rec-player' }, nowPlaying, video,
    deleteOneBtn ? h('div', { class: 'actions' }, deleteOneBtn) : null);
  const rangeCard = h('div', { class: 'card narrow', id: 'rec-range' },
    h('h2', { id: 'rec-range-title', i18n: isAdmin ? 'recordings.range_title' : 'recordings.range_title_viewer' }),
    h('p', { class: 'hint', i18n: 'recordings.range_hint' }),
    h('div', { class: 'field' }, h('label', { for: 'rec-from', i18n: 'recordings.from' }), fromInput),
    h('div', { class: 'field' }, h('label', { for: 'rec-to', i18n: 'recordings.to' }), toInput),
    h('div', { class: 'actions' }, downloadBtn, deleteRangeBtn), rangeStatus);
  const viewerNote = isAdmin ? null : h('p', { class: 'hint', id: 'rec-viewer-note', i18n: 'recordings.viewer_note' });
  return page('recordings.title', h('p', { class: 'lead', i18n: 'recordings.intro' }), viewerNote, status,
    h('div', { class: 'field rec-day' }, h('label', { for: 'rec-day', i18n: 'recordings.day' }),
      h('div', { class: 'actions' }, prevBtn, dayInput, nextBtn)),
    summary, timelineWrap, legend, player, rangeCard, listTitle, tableWrap, settings);
}
