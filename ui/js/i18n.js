// i18n.js — Vietnamese and English texts for the safecam web UI: language choice (Vietnamese by default
// when the browser prefers it, remembered per browser), lookup with {param} substitution, and live
// re-translation of every element tagged with data-i18n. Runs in the browser; holds no secrets.
import { STRINGS } from './strings.js';

export const LANGS = ['vi', 'en'];
const STORE_KEY = 'safecam.lang';
let current = 'en';
const listeners = [];

// The language to start with: the remembered choice, else the first of navigator.languages that we
// have (so a browser preferring Vietnamese gets Vietnamese), else English.
export function detectLang() {
  try {
    const saved = window.localStorage.getItem(STORE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch (_) { /* storage disabled: fall through */ }
  const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of prefs) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

export function lang() {
  return current;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(STRINGS.en, key);
}

// Text for key in the current language, with {name} replaced from args. An argument given as
// {t: 'other.key'} is itself translated, so a language switch re-translates it too.
export function t(key, args) {
  let s = STRINGS[current][key];
  if (s === undefined) s = STRINGS.en[key];
  if (s === undefined) s = key;
  if (args) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => {
      if (!Object.prototype.hasOwnProperty.call(args, name)) return m;
      const v = args[name];
      return v !== null && typeof v === 'object' && typeof v.t === 'string' ? t(v.t) : String(v);
    });
  }
  return s;
}

// Set el's text from key and remember it so a language switch re-translates it in place.
export function tx(el, key, args) {
  el.setAttribute('data-i18n', key);
  if (args) el.setAttribute('data-i18n-args', JSON.stringify(args));
  else el.removeAttribute('data-i18n-args');
  el.textContent = t(key, args);
}

const I18N_ATTRS = ['aria-label', 'placeholder', 'title', 'alt'];

export function apply(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    let args;
    const raw = el.getAttribute('data-i18n-args');
    if (raw) {
      try { args = JSON.parse(raw); } catch (_) { args = undefined; }
    }
    el.textContent = t(el.getAttribute('data-i18n'), args);
  }
  for (const attr of I18N_ATTRS) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
    }
  }
}

export function setLang(l, remember) {
  if (!LANGS.includes(l)) return;
  current = l;
  document.documentElement.lang = l;
  if (remember) {
    try { window.localStorage.setItem(STORE_KEY, l); } catch (_) { /* not remembered */ }
  }
  apply(document);
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

// The text for an API error code ("error.<code>"), or a generic text naming the code.
export function errorText(code) {
  const key = 'error.' + code;
  if (has(key)) return t(key);
  return t('error.unknown', { code: String(code || '?') });
}

export function errorKey(code) {
  const key = 'error.' + code;
  return has(key) ? [key, undefined] : ['error.unknown', { code: String(code || '?') }];
}

// Date/time of a Unix time in seconds, in the current language, local time zone.
export function formatTime(unix) {
  const d = new Date(unix * 1000);
  try {
    return new Intl.DateTimeFormat(current === 'vi' ? 'vi-VN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
  } catch (_) {
    return d.toISOString();
  }
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(s / 60);
  const r = s % 60;
  return m > 0 ? t('time.min_sec', { m, s: r }) : t('time.sec', { s: r });
}
