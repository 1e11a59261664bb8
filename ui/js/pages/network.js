// pages/network.js — network services: what the camera listens on and the addresses an installer types into a
// recorder (GET /api/v1/settings/network: the bind address, the real HTTPS and RTSPS ports, the full stream
// URLs, never with credentials). QCVN 135 G6 / EN 303 645 5.6-1, 5.6-2 (IF-01, IF-05). Optional services
// (ONVIF, WS-Discovery) are switched on their own settings; this firmware runs none unless turned on.
import { api } from '../api.js';
import { h, page, showError, statusBox } from '../dom.js';
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
  return page('network.title', h('p', { class: 'lead', i18n: 'network.intro' }), status,
    h('h2', { i18n: 'network.ports_title' }), h('div', { class: 'table-wrap' }, portsTable(rows)),
    h('p', { class: 'hint', id: 'network-bind', i18n: 'network.bind', i18nArgs: { bind: String(cfg.bind || '') } }),
    h('h2', { i18n: 'network.urls_title' }), urlList(cfg.urls || {}),
    h('p', { class: 'hint', i18n: 'network.urls_hint' }));
}
