// pages/about.js — About: model, serial, firmware version, end of the support period, and the links to the
// vulnerability disclosure policy (/.well-known/security.txt, served without login). QCVN 135 G2 /
// EN 303 645 5.2-1, 5.3-13 (the user can see the support period).
import { api } from '../api.js';
import { h, page, showError, statusBox } from '../dom.js';

export async function render() {
  const status = statusBox('about-status');
  let d = {};
  try {
    d = await api.get('/api/v1/device');
  } catch (e) {
    showError(status, e);
  }
  const eos = d.support_until || d.end_of_support || d.support_end;
  const rows = [
    ['about.product', d.product, 'about-product'],
    ['about.model', d.model, 'about-model'],
    ['about.serial', d.serial, 'about-serial'],
    ['about.mac', d.mac, 'about-mac'],
    ['about.firmware', d.firmware_version, 'about-firmware'],
    ['about.support_until', eos, 'about-support'],
  ].filter(([, v]) => v !== undefined && v !== null && v !== '');
  const facts = h('dl', { class: 'facts', id: 'about-facts' }, rows.flatMap(([k, v, id]) => [h('dt', { i18n: k }), h('dd', { id, text: String(v) })]));
  return page('about.title', status,
    h('div', { class: 'card' }, facts, eos ? null : h('p', { class: 'hint', i18n: 'about.support_unknown' })),
    h('div', { class: 'card' },
      h('h2', { i18n: 'about.security_title' }),
      h('p', { i18n: 'about.security_text' }),
      h('ul', null,
        h('li', null, h('a', { href: '/.well-known/security.txt', id: 'about-security-txt', i18n: 'about.security_txt' })),
        h('li', null, h('span', { i18n: 'about.manual' })))),
    h('p', { class: 'hint', i18n: 'about.label_hint' }));
}
