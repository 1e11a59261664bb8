// dom.js — tiny DOM helpers for the safecam web UI. Runs in the browser; builds elements with
// textContent only (never innerHTML), so text from the API can never become markup (XSS, QCVN 135 G11).
import { errorKey, t, tx } from './i18n.js';

// h('button', {class: 'primary', i18n: 'login.submit', on: {click: fn}}, child, ...)
// Special attrs: class, text (literal text), i18n (string key), i18nArgs (params), on (event map),
// i18nAttr ({'aria-label': key}); true sets a boolean attribute; false/null/undefined are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const a = attrs || {};
  for (const [k, v] of Object.entries(a)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'i18n') tx(el, v, a.i18nArgs);
    else if (k === 'i18nArgs') continue;
    else if (k === 'i18nAttr') {
      for (const [attr, key] of Object.entries(v)) {
        el.setAttribute('data-i18n-' + attr, key);
        el.setAttribute(attr, t(key));
      }
    } else if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let idSeq = 0;
export function uid(prefix) {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

// A labelled form field: returns {wrap, input}. opts: id, label (key), type, hint (key), attrs.
export function field(opts) {
  const id = opts.id || uid('f');
  const input = opts.element || h(opts.tag || 'input', { id, name: opts.name || id, type: opts.tag ? null : (opts.type || 'text'), ...(opts.attrs || {}) });
  if (opts.element) input.id = id;
  const hintId = opts.hint ? id + '-hint' : null;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  const wrap = h('div', { class: 'field' },
    h('label', { for: id, i18n: opts.label, i18nArgs: opts.labelArgs }),
    input,
    hintId ? h('p', { id: hintId, class: 'hint', i18n: opts.hint, i18nArgs: opts.hintArgs }) : null);
  return { wrap, input };
}

// A status line announced to screen readers. kind: 'info' | 'ok' | 'error'.
export function statusBox(id) {
  return h('div', { id, class: 'status', role: 'status', 'aria-live': 'polite', hidden: true });
}

export function showStatus(box, kind, key, args, extra) {
  box.hidden = false;
  box.className = 'status status-' + kind;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.replaceChildren();
  const p = h('p', { i18n: key, i18nArgs: args });
  box.append(p);
  if (extra) box.append(extra);
}

// Show an ApiError (or any {code}) as its translated text.
export function showError(box, err, extra) {
  const [key, args] = errorKey(err && err.code ? err.code : 'internal');
  showStatus(box, 'error', key, args, extra);
}

export function hideStatus(box) {
  box.hidden = true;
  box.replaceChildren();
}

// A page skeleton: <section> with an h1 that receives focus after navigation.
export function page(titleKey, ...children) {
  return h('section', { class: 'page' },
    h('h1', { id: 'page-title', tabindex: '-1', i18n: titleKey }),
    ...children);
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// A modal confirmation (native <dialog>: focus is trapped and Escape cancels). Resolves true on confirm.
// opts: {title, text, args, confirm (key), danger (bool), id}
export function confirmDialog(opts) {
  return new Promise((resolve) => {
    const prev = document.activeElement;
    const cancel = h('button', { type: 'button', class: 'secondary', id: (opts.id || 'confirm') + '-cancel', i18n: 'common.cancel' });
    const ok = h('button', { type: 'button', class: opts.danger ? 'danger' : 'primary', id: (opts.id || 'confirm') + '-ok', i18n: opts.confirm || 'common.confirm' });
    const titleId = uid('dlg-title');
    const textId = uid('dlg-text');
    const dlg = h('dialog', { class: 'dialog', id: opts.id || 'confirm-dialog', 'aria-labelledby': titleId, 'aria-describedby': textId },
      h('h2', { id: titleId, i18n: opts.title }),
      h('p', { id: textId, i18n: opts.text, i18nArgs: opts.args }),
      opts.extra || null,
      h('div', { class: 'actions' }, cancel, ok));
    let result = false;
    cancel.addEventListener('click', () => dlg.close());
    ok.addEventListener('click', () => { result = true; dlg.close(); });
    dlg.addEventListener('close', () => {
      dlg.remove();
      // The opener may have been redrawn meanwhile (e.g. a language switch): focus its successor.
      const back = prev && !prev.isConnected && prev.id ? document.getElementById(prev.id) : prev;
      if (back && back.focus) back.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
