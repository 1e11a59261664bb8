// pages/privacy.js — the privacy notice shown once at first setup (after the initial password change):
// what the camera collects, where it is stored and processed (with the Vietnam location option), and
// the sensors it has. QCVN 135 G7 / Decision 724 / EN 303 645 6-1 (UD-05). Readable again from the menu.
import { h, page, showError, showStatus, statusBox } from '../dom.js';
import { acknowledge, privacyState } from '../privacy-state.js';

const COLLECTED = ['video', 'snapshots', 'events', 'accounts', 'settings'];
const SENSORS = [
  ['image', 'present'],
  ['microphone', 'absent'],
  ['motion', 'absent'],
  ['infrared', 'absent'],
  ['location', 'absent'],
];
const LOCATIONS = ['device_only', 'vietnam'];

export async function render(ctx) {
  const st = await privacyState(ctx.session);
  const status = statusBox('privacy-status');
  const flash = ctx.takeFlash();
  if (flash) showStatus(status, flash.kind, flash.key, flash.args);

  const collected = h('ul', { id: 'privacy-collected' }, COLLECTED.map((k) => h('li', { i18n: 'privacy.collect.' + k })));
  const sensors = h('table', { id: 'privacy-sensors', class: 'table' },
    h('caption', { i18n: 'privacy.sensors_caption' }),
    h('thead', null, h('tr', null, h('th', { scope: 'col', i18n: 'privacy.sensor' }), h('th', { scope: 'col', i18n: 'privacy.sensor_state' }), h('th', { scope: 'col', i18n: 'privacy.sensor_use' }))),
    h('tbody', null, SENSORS.map(([k, present]) => h('tr', null,
      h('th', { scope: 'row', i18n: 'privacy.sensor.' + k }),
      h('td', { i18n: 'privacy.sensor_' + present }),
      h('td', { i18n: 'privacy.sensor_use.' + k })))));

  const canAck = st.source === 'browser' || ctx.session.role === 'admin';
  const radios = LOCATIONS.map((loc) => {
    const id = 'privacy-loc-' + loc;
    const input = h('input', { type: 'radio', name: 'data_location', id, value: loc, checked: st.data_location === loc || (!LOCATIONS.includes(st.data_location) && loc === 'device_only'), disabled: !canAck });
    return h('div', { class: 'field inline' }, input, h('label', { for: id }, h('strong', { i18n: 'privacy.loc.' + loc }), ' ', h('span', { class: 'hint', i18n: 'privacy.loc_hint.' + loc })));
  });
  const where = h('fieldset', { id: 'privacy-location' }, h('legend', { i18n: 'privacy.location_legend' }), ...radios);

  const ackButton = h('button', { type: 'submit', class: 'primary', id: 'privacy-ack', i18n: st.acknowledged ? 'privacy.save' : 'privacy.ack', disabled: !canAck });
  const form = h('form', { id: 'privacy-form', class: 'card' },
    h('h2', { i18n: 'privacy.collected_title' }), h('p', { i18n: 'privacy.collected_intro' }), collected,
    h('h2', { i18n: 'privacy.stored_title' }), h('p', { i18n: 'privacy.stored_text' }), h('p', { i18n: 'privacy.processed_text' }),
    h('p', { i18n: 'privacy.outbound_text' }),
    where,
    h('h2', { i18n: 'privacy.sensors_title' }), sensors,
    h('h2', { i18n: 'privacy.rights_title' }), h('p', { i18n: 'privacy.rights_text' }),
    st.source === 'browser' ? h('p', { class: 'note', id: 'privacy-browser-note', i18n: 'privacy.browser_only' }) : null,
    st.acknowledged ? h('p', { class: 'note', id: 'privacy-acked', i18n: 'privacy.already_acked' }) : null,
    !canAck ? h('p', { class: 'note', i18n: 'privacy.admin_only' }) : null,
    h('div', { class: 'actions' }, ackButton));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const chosen = form.querySelector('input[name="data_location"]:checked');
    ackButton.disabled = true;
    try {
      await acknowledge(chosen ? chosen.value : 'device_only');
      ctx.setFlash('privacy.saved', 'ok');
      ctx.navigate('live');
    } catch (e) {
      ackButton.disabled = false;
      showError(status, e);
    }
  });

  return page('privacy.title', status, h('p', { class: 'lead', i18n: 'privacy.intro' }), form);
}
