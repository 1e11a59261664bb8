// ui_static.test.mjs — checks of the UI files themselves (no daemon needed): no external host anywhere
// in ui/ (no CDN, fonts, analytics), nothing the CSP would block (inline script, inline style, event
// handler attributes), and Vietnamese and English texts complete: the same keys, every key used by the
// code present, every password-policy reason and every API error code of the web process translated.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO, UI_DIR } from './camera.mjs';

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const files = walk(UI_DIR);
const own = files.filter((f) => !/[/\\]live\.(html|js)$/.test(f)); // ui/live.* belong to the media engineer
const text = (f) => fs.readFileSync(f, 'utf8');
const { STRINGS } = await import(pathToFileURL(path.join(UI_DIR, 'js', 'strings.js')).href);

test('the UI references no external host', () => {
  const found = [];
  for (const f of files) {
    if (!/\.(html|js|css|svg|json|txt)$/.test(f)) continue;
    const src = text(f);
    for (const m of src.matchAll(/(?:https?:|wss?:|ftp:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"`)]*/gi)) {
      const url = m[0];
      const before = src.slice(Math.max(0, m.index - 8), m.index);
      // An XML namespace name is an identifier, never fetched (in markup, or a JS string for createElementNS).
      if ((/xmlns(:\w+)?="$/.test(before) || /'$/.test(before)) && url === 'http://www.w3.org/2000/svg') continue;
      // A '//' inside a line comment of JS/CSS is prose, not a reference (e.g. "// see foo.bar"): only a
      // scheme-relative URL in code counts. Comments start the line after optional spaces.
      const lineStart = src.lastIndexOf('\n', m.index) + 1;
      const line = src.slice(lineStart, src.indexOf('\n', m.index) === -1 ? undefined : src.indexOf('\n', m.index));
      if (!/^[a-z]+:/i.test(url) && /^\s*(\/\/|\*|\/\*)/.test(line)) continue;
      found.push(`${path.relative(REPO, f)}: ${url}`);
    }
    for (const m of src.matchAll(/@import|url\(\s*['"]?(?!data:|\/|\.|#)[^)]*\)/g)) found.push(`${path.relative(REPO, f)}: ${m[0]}`);
  }
  assert.deepEqual(found, []);
});

test('the HTML has nothing the strict CSP would block', () => {
  for (const f of files.filter((x) => x.endsWith('.html'))) {
    const src = text(f);
    for (const m of src.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      assert.match(m[1], /\bsrc=/, `${f}: inline <script>`);
      assert.equal(m[2].trim(), '', `${f}: inline script body`);
    }
    assert.doesNotMatch(src, /<style\b/i, `${f}: inline <style>`);
    assert.doesNotMatch(src, /\sstyle\s*=/i, `${f}: style attribute`);
    assert.doesNotMatch(src, /\son[a-z]+\s*=/i, `${f}: event handler attribute`);
    assert.doesNotMatch(src, /javascript:/i, `${f}: javascript: URL`);
  }
  for (const f of own.filter((x) => x.endsWith('.js'))) {
    const src = text(f).split('\n').filter((l) => !/^\s*\/\//.test(l)).join('\n'); // code, not comments
    assert.doesNotMatch(src, /\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write/, `${f}: markup from strings`);
    assert.doesNotMatch(src, /\beval\(|new Function\(/, `${f}: eval`);
    assert.doesNotMatch(src, /setAttribute\(\s*'style'|\.style\./, `${f}: inline style`);
  }
});

test('Vietnamese and English have the same keys and no empty text', () => {
  const en = Object.keys(STRINGS.en).sort();
  const vi = Object.keys(STRINGS.vi).sort();
  assert.deepEqual(vi, en);
  for (const l of ['en', 'vi']) {
    for (const [k, v] of Object.entries(STRINGS[l])) assert.ok(typeof v === 'string' && v.trim().length > 0, `${l}.${k}`);
  }
  // Placeholders must match between the two languages.
  for (const k of en) {
    const ph = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
    assert.equal(ph(STRINGS.vi[k]), ph(STRINGS.en[k]), `placeholders of ${k}`);
  }
  // Vietnamese really is Vietnamese: most texts differ from English and use Vietnamese letters.
  const same = en.filter((k) => STRINGS.vi[k] === STRINGS.en[k] && !/^(app\.name|app\.whoami|service\.|time\.)/.test(k));
  assert.ok(same.length <= 8, `untranslated: ${same.join(', ')}`);
  const viLetters = en.filter((k) => /[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]/i.test(STRINGS.vi[k]));
  assert.ok(viLetters.length > en.length * 0.7, 'Vietnamese texts carry Vietnamese letters');
});

test('every text key used by the code exists', () => {
  const missing = [];
  const keyRe = /(?:i18n|tx\([^,]+,|t\(|showStatus\([^,]+,\s*'[a-z]+',|title:|text:|confirm:|label:|hint:|intro:|data-i18n(?:-[a-z-]+)?=)\s*['"]([a-z_]+\.[a-z0-9_.]+)['"]/g;
  for (const f of own.filter((x) => /\.(js|html)$/.test(x) && !x.endsWith('strings.js'))) {
    for (const m of text(f).matchAll(keyRe)) if (!(m[1] in STRINGS.en)) missing.push(`${path.basename(f)}: ${m[1]}`);
    for (const m of text(f).matchAll(/'([a-z]+\.[a-z0-9_]+(?:\.[a-z0-9_]+)?)'/g)) {
      const k = m[1];
      if (/^(login|password|privacy|live|captures|recordings|users|settings|security|network|linked|stream|firmware|events|data|about|common|nav|app|rule|role|error|time)\./.test(k)
        && !/\.(js|mjs|css|html|jpg|mp4|txt)$/.test(k) && !k.endsWith('_') && !(k in STRINGS.en)) missing.push(`${path.basename(f)}: ${k}`);
    }
  }
  assert.deepEqual([...new Set(missing)], []);
});

test('every password-policy reason, role, event type and error code has both texts', async () => {
  const reasons = ['too_short', 'too_long', 'invalid_characters', 'missing_lowercase', 'missing_uppercase', 'missing_digit',
    'missing_special', 'contains_username', 'contains_serial', 'contains_mac', 'contains_model', 'contains_product', 'dictionary_word'];
  // The reasons the vault can give, read from its source when present (the header lists them too).
  const header = path.join(REPO, 'include', 'safecam', 'password_policy.h');
  if (fs.existsSync(header)) {
    const block = text(header).split('from:')[1] || '';
    for (const m of block.split('*/')[0].matchAll(/\b([a-z]+_[a-z_]+)\b/g)) if (!reasons.includes(m[1])) reasons.push(m[1]);
  }
  for (const r of reasons) assert.ok(`policy.${r}` in STRINGS.en && `policy.${r}` in STRINGS.vi, `policy.${r}`);
  for (const r of ['admin', 'operator', 'viewer']) assert.ok(`role.${r}` in STRINGS.en, `role.${r}`);
  const { EVENT_TYPES } = await import(pathToFileURL(path.join(UI_DIR, 'js', 'pages', 'events.js')).href).catch(() => ({ EVENT_TYPES: null }));
  const audit = path.join(REPO, 'include', 'safecam', 'audit.h');
  const types = fs.existsSync(audit) ? [...text(audit).matchAll(/#define AUDIT_[A-Z_]+ "([a-z_]+)"/g)].map((m) => m[1]) : [];
  for (const ty of types) assert.ok(`event.${ty}` in STRINGS.en, `event.${ty}`);
  if (EVENT_TYPES) for (const ty of types) assert.ok(EVENT_TYPES.includes(ty), `event filter lists ${ty}`);
  // Error codes the web process sends, read from its source; update refusal reasons from update.h.
  const codes = new Set(['network', 'internal', 'unknown']);
  for (const src of ['lib/http/server.c', 'lib/http/parse.c', 'lib/http/api.c']) {
    const p = path.join(REPO, src);
    if (!fs.existsSync(p)) continue;
    const s = text(p);
    for (const m of s.matchAll(/"error",\s*"([a-z_]+)"/g)) codes.add(m[1]);
    for (const m of s.matchAll(/reply_error[a-z_]*\(r,\s*[A-Z_]+,\s*"([a-z_]+)"/g)) codes.add(m[1]);
    for (const m of s.matchAll(/strcmp\(code,\s*"([a-z_]+)"\)/g)) if (!['no_session', 'invalid_type'].includes(m[1])) codes.add(m[1]);
    for (const m of s.matchAll(/\.code\s*=\s*"([a-z_]+)"|code = "([a-z_]+)"/g)) codes.add(m[1] || m[2]);
  }
  const update = path.join(REPO, 'include', 'safecam', 'update.h');
  if (fs.existsSync(update)) for (const m of text(update).matchAll(/\/\* "([a-z_]+)"/g)) codes.add(m[1]);
  const missing = [...codes].filter((c) => !(`error.${c}` in STRINGS.en && `error.${c}` in STRINGS.vi));
  assert.deepEqual(missing, []);
});

// Found by hand: a lockout showed on the Events page as "scope: source; failures: 5; window_s: 30; duration_s:
// 300", its keys untranslated. Every key of an audit detail the camera writes (the `detail` strings built in
// lib/ and daemon/, and the connection-flood summary), every flag of such a detail and every value given
// literally there has both texts.
test('every key, flag and literal value of an audit detail has both texts', async () => {
  const { detailValueKey } = await import(pathToFileURL(path.join(UI_DIR, 'js', 'pages', 'events.js')).href);
  const both = (k) => k in STRINGS.en && k in STRINGS.vi;
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.c')) files.push(path.join(d, e.name));
    }
  };
  walk(path.join(REPO, 'lib'));
  walk(path.join(REPO, 'daemon'));
  const formats = [];
  for (const f of files) {
    const src = text(f);
    const re = f.endsWith(path.join('core', 'conn_guard.c'))
      ? /safecam_fmt\(out, out_size,\s*((?:"[^"]*"\s*)+)/g
      : /safecam_fmt\(detail, sizeof detail,\s*((?:"[^"]*"\s*)+)/g;
    for (const m of src.matchAll(re)) formats.push([...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]).join(''));
  }
  assert.ok(formats.length > 20, `audit detail formats found: ${formats.length}`);
  const missing = new Set();
  const need = (k) => { if (!(k in STRINGS.en && k in STRINGS.vi)) missing.add(k); };
  for (const fmt of formats) {
    const tokens = fmt.split(/\s+/).filter(Boolean);
    // A detail the page shows structured: every token key=value or a flag (the rest is shown raw).
    if (!tokens.every((t) => /^[a-z][a-z0-9_]*=/.test(t) || /^[a-z]+_[a-z_]+$/.test(t))) continue;
    for (const t of tokens) {
      const eq = t.indexOf('=');
      if (eq < 0) { need(`detail.flag.${t}`); continue; }
      const key = t.slice(0, eq);
      const value = t.slice(eq + 1);
      need(`detail.key.${key}`);
      if (/^[a-z][a-z_]*$/.test(value) && !detailValueKey(key, value, both)) missing.add(`detail.value.${key}.${value}`);
    }
  }
  assert.deepEqual([...missing].sort(), []);
});

test('a heading and the button under it do not say the same thing', () => {
  for (const lang of ['vi', 'en']) assert.notEqual(STRINGS[lang]['live.snapshot'], STRINGS[lang]['live.snapshot_title'], lang);
});
