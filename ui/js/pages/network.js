// pages/network.js — network services: what the camera listens on and the addresses an installer types into a
// recorder (GET /api/v1/settings/network: the bind address, the real HTTPS and RTSPS ports, the full stream
// URLs, never with credentials). QCVN 135 G6 / EN 303 645 5.6-1, 5.6-2 (IF-01, IF-05). The one optional
// service, ONVIF (off by default), is switched here by an administrator (GET/PUT /api/v1/settings/onvif, both
// admin only: the page asks nothing about it for any other role), and so is its WS-Discovery switch (off by
// default; the camera answers discovery only while both are on).
import { api } from '../api.js';
import { h, hideStatus, page, showError, showStatus, statusBox } from '../dom.js';
import { has } from '../i18n.js';

function serviceLabel(name) {
  return has('service.' + name) ? 'service.' + name : 'service.other';
}

function portsTable(rows) {
  return h('table', { class: 'table', id: 'ports-table' },
    h('caption', { i18n: 'network.ports_caption' }),
    h('thead', null, h('tr', null, h('th', { scope: 'col', i18n: 'network.port' }), h('th', { scope: 'col', i18n: 'network.protocol' }), h('th', { scope: 'col', i18n: 'network.service' }))),
    h('tbody', null, rows.map((r) => h('tr', { 'data-service': String(r.service) },
      h('td', { text: String(r.port) }),
      h('td', { text: String(r.protocol || 'tcp').toUpperCase() }),
      h('td', { i18n: serviceLabel(r.service), i18nArgs: { name: String(r.service) } })))));
}

function urlList(urls) {
  const row = (id, key, value) => h('div', { class: 'field' },
    h('dt', { i18n: key }), h('dd', null, h('code', { id, text: String(value || '') })));
  return h('dl', { id: 'network-urls', class: 'items' },
    row('url-main', 'network.url_main', urls.main),
    row('url-sub', 'network.url_sub', urls.sub),
    row('url-web', 'network.url_web', urls.web));
}

// The ONVIF device service address, from the page's own web address (host and real HTTPS port), or ''.
function onvifAddress(cfg) {
  const web = cfg.urls && cfg.urls.web;
  if (!web) return '';
  try {
    return new URL('/onvif/device_service', String(web)).href;
  } catch (_) {
    return '';
  }
}

// The ONVIF card (administrators only): a switch that PUTs {"enabled": bool} at once and shows the answer,
// the device service address for a recorder, the account a recorder uses, and the WS-Discovery switch
// (PUT {"discovery": bool}).
async function onvifCard(cfg) {
  const status = statusBox('onvif-status');
  const title = h('h2', { id: 'onvif-title', i18n: 'network.onvif_title' });
  let cur;
  try {
    cur = await api.get('/api/v1/settings/onvif');
  } catch (e) {
    if (e.status === 404) showStatus(status, 'info', 'common.not_available');
    else showError(status, e);
    return h('div', { class: 'card narrow', id: 'onvif-card' }, title, status);
  }
  const sw = h('input', { type: 'checkbox', id: 'onvif-enabled', name: 'enabled', role: 'switch', checked: !!cur.enabled, 'aria-describedby': 'onvif-enabled-hint' });
  const disc = h('input', { type: 'checkbox', id: 'onvif-discovery-enabled', name: 'discovery', role: 'switch', checked: !!cur.discovery, 'aria-describedby': 'onvif-discovery' });
  const addr = onvifAddress(cfg);
  // one PUT per switch; the answer is the state in force (a refusal changes nothing)
  const wire = (input, key, onKey, offKey) => input.addEventListener('change', async () => {
    const want = input.checked;
    hideStatus(status);
    input.disabled = true;
    try {
      const r = await api.put('/api/v1/settings/onvif', { [key]: want });
      cur = r && typeof r === 'object' ? r : { ...cur, [key]: want };
      input.checked = !!cur[key];
      showStatus(status, 'ok', cur[key] ? onKey : offKey);
    } catch (e) {
      input.checked = !!cur[key]; // refused: nothing changed on the camera
      showError(status, e);
    } finally {
      input.disabled = false;
    }
  });
  wire(sw, 'enabled', 'network.onvif_now_on', 'network.onvif_now_off');
  wire(disc, 'discovery', 'network.discovery_now_on', 'network.discovery_now_off');
  return h('div', { class: 'card narrow', id: 'onvif-card' }, title,
    h('p', { i18n: 'network.onvif_intro' }),
    h('div', { class: 'field inline' }, sw, h('label', { for: 'onvif-enabled', i18n: 'network.onvif_enabled' }),
      h('p', { id: 'onvif-enabled-hint', class: 'hint', i18n: 'network.onvif_enabled_hint' })),
    status,
    addr ? h('dl', { class: 'items' }, h('div', { class: 'field' },
      h('dt', { i18n: 'network.onvif_address' }), h('dd', null, h('code', { id: 'onvif-address', text: addr })))) : null,
    h('p', { class: 'hint', id: 'onvif-account', i18n: 'network.onvif_account' }),
    h('div', { class: 'field inline' }, disc, h('label', { for: 'onvif-discovery-enabled', i18n: 'network.discovery_enabled' }),
      h('p', { id: 'onvif-discovery', class: 'hint', i18n: 'network.discovery_hint' })));
}

export async function render(ctx) {
  const status = statusBox('network-status');
  let cfg = null;
  try {
    cfg = await api.get('/api/v1/settings/network');
  } catch (e) {
    showError(status, e);
  }
  if (!cfg) return page('network.title', h('p', { class: 'lead', i18n: 'network.intro' }), status);
  const rows = [
    { port: cfg.https_port, protocol: 'tcp', service: 'https' },
    { port: cfg.rtsps_port, protocol: 'tcp', service: 'rtsps' },
  ];
  const isAdmin = !!(ctx && ctx.session && ctx.session.role === 'admin');
  const onvif = isAdmin ? await onvifCard(cfg) : null;
  return page('network.title', h('p', { class: 'lead', i18n: 'network.intro' }), status,
    h('h2', { i18n: 'network.ports_title' }), h('div', { class: 'table-wrap' }, portsTable(rows)),
    h('p', { class: 'hint', id: 'network-bind', i18n: 'network.bind', i18nArgs: { bind: String(cfg.bind || '') } }),
    h('h2', { i18n: 'network.urls_title' }), urlList(cfg.urls || {}),
    h('p', { class: 'hint', i18n: 'network.urls_hint' }),
    onvif);
}
