// settings-form.js — a settings page built from a field table: loads GET <url>, shows each known field
// (numbers with their allowed range, switches, choices), sends only what changed with PUT <url>, and
// shows the server's refusal next to the offending field. Runs in the browser; the server validates.
import { api } from './api.js';
import { h, hideStatus, page, showError, showStatus, statusBox } from './dom.js';
import { errorKey, t } from './i18n.js';

// spec: [{key, label, type: 'int'|'bool'|'choice', min, max, step, unit, hint, choices: [[value, labelKey]]}]
export async function settingsPage(ctx, opts) {
  const status = statusBox(opts.id + '-status');
  let current;
  try {
    current = await api.get(opts.url);
    if (opts.pick) current = opts.pick(current);
  } catch (e) {
    if (e.status === 404) {
      showStatus(status, 'info', 'common.not_available');
      return page(opts.title, h('p', { class: 'lead', i18n: opts.intro }), status);
    }
    showError(status, e);
    return page(opts.title, h('p', { class: 'lead', i18n: opts.intro }), status);
  }
  const inputs = {};
  const fields = [];
  for (const f of opts.fields) {
    if (!current || !(f.key in current)) continue;
    const id = `${opts.id}-${f.key}`;
    const hintId = id + '-hint';
    let input;
    if (f.type === 'bool') {
      input = h('input', { type: 'checkbox', id, name: f.key, role: 'switch', checked: !!current[f.key], 'aria-describedby': f.hint ? hintId : null });
      fields.push(h('div', { class: 'field inline' }, input, h('label', { for: id, i18n: f.label }),
        f.hint ? h('p', { id: hintId, class: 'hint', i18n: f.hint }) : null));
    } else if (f.type === 'choice') {
      input = h('select', { id, name: f.key, 'aria-describedby': f.hint ? hintId : null },
        f.choices.map(([v, key]) => h('option', { value: String(v), i18n: key, selected: String(current[f.key]) === String(v) })));
      fields.push(h('div', { class: 'field' }, h('label', { for: id, i18n: f.label }), input,
        f.hint ? h('p', { id: hintId, class: 'hint', i18n: f.hint }) : null));
    } else {
      input = h('input', { type: 'number', id, name: f.key, inputmode: 'numeric', min: f.min, max: f.max, step: f.step || 1, required: true, value: String(current[f.key]), 'aria-describedby': hintId });
      const hint = h('p', { id: hintId, class: 'hint', i18n: f.hint || 'settings.range', i18nArgs: { min: f.min, max: f.max, unit: f.unit || '' } });
      fields.push(h('div', { class: 'field' }, h('label', { for: id, i18n: f.label }), input, hint));
    }
    inputs[f.key] = { input, spec: f };
  }
  const save = h('button', { type: 'submit', class: 'primary', id: opts.id + '-save', i18n: 'settings.save' });
  const form = h('form', { id: opts.id + '-form', class: 'card narrow', novalidate: true }, ...fields, h('div', { class: 'actions' }, save));

  function valueOf(key) {
    const { input, spec } = inputs[key];
    if (spec.type === 'bool') return input.checked;
    if (spec.type === 'choice') {
      const raw = input.value;
      return typeof current[key] === 'number' ? Number(raw) : raw;
    }
    return input.value.trim() === '' ? NaN : Number(input.value);
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(status);
    for (const { input } of Object.values(inputs)) input.removeAttribute('aria-invalid');
    const change = {};
    for (const key of Object.keys(inputs)) {
      const v = valueOf(key);
      const spec = inputs[key].spec;
      if (spec.type === 'int' && (!Number.isInteger(v) || v < spec.min || v > spec.max)) {
        inputs[key].input.setAttribute('aria-invalid', 'true');
        showStatus(status, 'error', 'settings.out_of_range', { min: spec.min, max: spec.max, unit: spec.unit || '' });
        inputs[key].input.focus();
        return;
      }
      if (v !== current[key]) change[key] = v;
    }
    if (opts.combine) opts.combine(change, valueOf, current);
    if (!Object.keys(change).length) {
      showStatus(status, 'info', 'settings.unchanged');
      return;
    }
    save.disabled = true;
    try {
      const r = await api.put(opts.url, change);
      const answer = r && opts.pick ? opts.pick(r) : r;
      current = answer && typeof answer === 'object' ? { ...current, ...answer } : { ...current, ...change };
      showStatus(status, 'ok', 'settings.saved');
    } catch (e) {
      const fieldName = e.body && typeof e.body.field === 'string' ? e.body.field : null;
      if (fieldName && inputs[fieldName]) {
        inputs[fieldName].input.setAttribute('aria-invalid', 'true');
        inputs[fieldName].input.focus();
      }
      if (fieldName && e.body.rule === 'even') {
        const label = inputs[fieldName] ? t(inputs[fieldName].spec.label) : fieldName;
        showStatus(status, 'error', 'settings.field_even', { field: label });
      } else if (fieldName && typeof e.body.min === 'number' && typeof e.body.max === 'number') {
        const [, args] = errorKey(e.code);
        const label = inputs[fieldName] ? t(inputs[fieldName].spec.label) : fieldName;
        showStatus(status, 'error', 'settings.field_range', { ...(args || {}), min: e.body.min, max: e.body.max, field: label });
      } else showError(status, e);
    } finally {
      save.disabled = false;
    }
  });

  const flash = ctx.takeFlash();
  if (flash) showStatus(status, flash.kind, flash.key, flash.args);
  return page(opts.title, h('p', { class: 'lead', i18n: opts.intro }), status, form, ...(opts.after || []));
}
