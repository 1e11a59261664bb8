// pages/security.js — security settings (admin): login lockout (failures, window, duration), session
// idle and absolute timeouts, password minimum length. QCVN 135 brute force and sessions / Decision 724.
import { settingsPage } from '../settings-form.js';

export const SECURITY_FIELDS = [
  { key: 'lockout_threshold', label: 'security.lockout_threshold', type: 'int', min: 1, max: 20, unit: '' },
  { key: 'lockout_window_s', label: 'security.lockout_window_s', type: 'int', min: 1, max: 3600, unit: 's' },
  { key: 'lockout_duration_s', label: 'security.lockout_duration_s', type: 'int', min: 1, max: 86400, unit: 's' },
  { key: 'session_idle_timeout_s', label: 'security.session_idle_timeout_s', type: 'int', min: 60, max: 86400, unit: 's' },
  { key: 'session_absolute_timeout_s', label: 'security.session_absolute_timeout_s', type: 'int', min: 300, max: 604800, unit: 's' },
  { key: 'password_min_length', label: 'security.password_min_length', type: 'int', min: 8, max: 64, unit: '' },
];

export function render(ctx) {
  return settingsPage(ctx, { id: 'security', url: '/api/v1/settings/security', title: 'security.title', intro: 'security.intro', fields: SECURITY_FIELDS });
}
