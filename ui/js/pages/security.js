// pages/security.js — security settings (admin): login lockout (failures, window, duration), session
// idle and absolute timeouts, password minimum length. QCVN 135 brute force and sessions / Decision 724.
import { settingsPage } from '../settings-form.js';

// Keys and ranges as the vault defines them (lib/vault/store.c setting_defs); the server re-checks.
export const SECURITY_FIELDS = [
  { key: 'lockout_threshold', label: 'security.lockout_threshold', type: 'int', min: 3, max: 20, unit: '' },
  { key: 'lockout_window_s', label: 'security.lockout_window_s', type: 'int', min: 10, max: 3600, unit: 's' },
  { key: 'lockout_duration_s', label: 'security.lockout_duration_s', type: 'int', min: 60, max: 86400, unit: 's' },
  { key: 'account_hourly_limit', label: 'security.account_hourly_limit', type: 'int', min: 10, max: 10000, unit: '' },
  { key: 'session_idle_s', label: 'security.session_idle_s', type: 'int', min: 60, max: 86400, unit: 's' },
  { key: 'session_absolute_s', label: 'security.session_absolute_s', type: 'int', min: 300, max: 604800, unit: 's' },
  { key: 'password_min_length', label: 'security.password_min_length', type: 'int', min: 8, max: 64, unit: '' },
];

export function render(ctx) {
  return settingsPage(ctx, { id: 'security', url: '/api/v1/settings/security', title: 'security.title', intro: 'security.intro', fields: SECURITY_FIELDS });
}
