// pages/network.js — network services (admin): a switch for each optional service (ONVIF, WS-Discovery,
// plain-HTTP redirect...) and the list of listening ports. QCVN 135 G6 / EN 303 645 5.6-1, 5.6-2 (IF-01,
// IF-05). Uses GET/PUT /api/v1/settings/network when the firmware has it; otherwise says so and lists
// the ports this page itself can see.
import { api, probe } from '../api.js';
import { h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { has } from '../i18n.js';

function serviceLabel(name) {
  return has('service.' + name) ? 'service.' + name : 'service.other';
}

// A row's port is a number, or an i18n key when the page cannot know the number (RTSPS).
function portsTable(rows) {
  return h('table', { class: 'table', id: 'ports-table' },
    h('caption', { i18n: 'network.ports_caption' }),
    h('thead', null, h('tr', null, h('th', { scope: 'col', i18n: 'network.port' }), h('th', { scope: 'col', i18n: 'network.protocol' }), h('th', { scope: 'col', i18n: 'network.service' }))),
    h('tbody', null, rows.map((r) => h('tr', { 'data-service': String(r.service) },
      r.portKey ? h('td', { i18n: r.portKey }) : h('td', { text: String(r.port) }),
      h('td', { text: String(r.protocol || 'tcp').toUpperCase() }),
      h('td', { i18n: serviceLabel(r.service), i18nArgs: { name: String(r.service) } })))));
}

// Without the settings endpoint: HTTPS is the port this page came from; the RTSPS port is chosen when the
// camera starts and no API gives it, so its number is not claimed unless the device answer has one.
async function knownPorts(d) {
  const rows = [{ port: Number(window.location.port || 443), protocol: 'tcp', service: 'https' }];
  const rtsps = d && (d.rtsps_port || (d.ports && d.ports.rtsps));
  rows.push(rtsps ? { port: rtsps, protocol: 'tcp', service: 'rtsps' } : { portKey: 'network.rtsps_port_startup', protocol: 'tcp', service: 'rtsps' });
  return rows;
}

export async function render(ctx) {
  const status = statusBox('network-status');
  let cfg = null;
  let d = null;
  try {
    d = await api.get('/api/v1/device');
  } catch (_) { /* the HTTPS port is still known */ }
  try {
    cfg = (await probe('/api/v1/settings/network', d && d.firmware_version ? d.firmware_version : '')).data;
  } catch (e) {
    showError(status, e);
  }
  if (!cfg) {
    const rows = await knownPorts(d);
    if (!status.childElementCount) showStatus(status, 'info', 'network.not_available');
    return page('network.title', h('p', { class: 'lead', i18n: 'network.intro' }), status,
      h('h2', { i18n: 'network.ports_title' }), h('div', { class: 'table-wrap' }, portsTable(rows)),
      h('p', { class: 'hint', i18n: 'network.ports_partial' }));
  }
  const services = Array.isArray(cfg.services) ? cfg.services : [];
  const switches = services.map((s) => {
    const id = 'svc-' + String(s.name).replace(/[^a-z0-9_-]/gi, '');
    const input = h('input', { type: 'checkbox', role: 'switch', id, name: String(s.name), checked: !!s.enabled });
    return h('div', { class: 'field inline' }, input, h('label', { for: id, i18n: serviceLabel(s.name), i18nArgs: { name: String(s.name) } }),
      s.port ? h('span', { class: 'hint', text: ` (${String(s.protocol || 'tcp').toUpperCase()} ${s.port})` }) : null);
  });
  const save = h('button', { type: 'submit', class: 'primary', id: 'network-save', i18n: 'settings.save' });
  const form = h('form', { id: 'network-form', class: 'card narrow' },
    h('fieldset', null, h('legend', { i18n: 'network.services_legend' }), ...(switches.length ? switches : [h('p', { i18n: 'network.no_optional' })])),
    h('div', { class: 'actions' }, save));
  const portsWrap = h('div', { class: 'table-wrap' }, portsTable(Array.isArray(cfg.listening) ? cfg.listening : []));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    hideStatus(status);
    const change = {};
    for (const input of form.querySelectorAll('input[role="switch"]')) change[input.name] = input.checked;
    save.disabled = true;
    try {
      await api.put('/api/v1/settings/network', { services: change });
      const fresh = await api.get('/api/v1/settings/network');
      portsWrap.replaceChildren(portsTable(Array.isArray(fresh.listening) ? fresh.listening : []));
      showStatus(status, 'ok', 'settings.saved');
    } catch (e) {
      showError(status, e);
    } finally {
      save.disabled = false;
    }
  });
  return page('network.title', h('p', { class: 'lead', i18n: 'network.intro' }), status, form,
    h('h2', { i18n: 'network.ports_title' }), portsWrap);
}
