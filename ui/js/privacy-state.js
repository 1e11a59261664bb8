// privacy-state.js — whether the first-setup privacy notice has been acknowledged, and the chosen data
// location. Kept on the device through GET/PUT /api/v1/settings/privacy when the firmware offers that
// endpoint; on firmware without it (404) the acknowledgement is remembered in this browser only
// (QCVN 135 G7 / Decision 724: privacy notice at setup; the device-side endpoint is the proper place).
import { api } from './api.js';

const KEY = 'safecam.privacy_ack.v1';
export const PRIVACY_VERSION = 1;
let cache = null;

function readBrowser() {
  try {
    const raw = window.localStorage.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw);
    return v && v.version === PRIVACY_VERSION ? v : null;
  } catch (_) {
    return null;
  }
}

// {source: 'device'|'browser'|'unknown', acknowledged, data_location, mustShow}
export async function privacyState(session, force) {
  if (!cache || force) {
    try {
      const r = await api.get('/api/v1/settings/privacy', { quiet: true });
      cache = { source: 'device', acknowledged: !!(r && r.acknowledged), data_location: (r && r.data_location) || 'device_only' };
    } catch (e) {
      if (e.status === 404) {
        const b = readBrowser();
        cache = { source: 'browser', acknowledged: !!b, data_location: b ? b.data_location : 'device_only' };
      } else {
        // Unknown state (network error, no permission): never lock the user out of the camera for it.
        cache = { source: 'unknown', acknowledged: true, data_location: 'device_only' };
      }
    }
  }
  const canAck = cache.source === 'browser' || (session && session.role === 'admin');
  return { ...cache, mustShow: !cache.acknowledged && canAck };
}

// Record the acknowledgement (and the data-location choice) where privacyState() reads it.
export async function acknowledge(dataLocation) {
  if (!cache) await privacyState(null);
  if (cache.source === 'device') {
    await api.put('/api/v1/settings/privacy', { acknowledged: true, data_location: dataLocation });
  } else {
    window.localStorage.setItem(KEY, JSON.stringify({ version: PRIVACY_VERSION, data_location: dataLocation, at: Math.floor(Date.now() / 1000) }));
  }
  cache = { source: cache.source, acknowledged: true, data_location: dataLocation };
  return cache;
}

export function resetPrivacyCache() {
  cache = null;
}
