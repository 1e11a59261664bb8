// policy.js — a preview of the camera's password policy while the user types (lib/vault/password_policy.c
// is the judge; this mirrors its rules that need no device data: length, characters, the four classes,
// the user name). Runs in the browser; the password never leaves the page except in the change request.
export const PASSWORD_MAX_BYTES = 128;
export const PASSWORD_MIN_LENGTH_FLOOR = 8;

function normalise(s) {
  return s.toLowerCase().replace(/[:\-._ ]/g, '');
}

// Reason codes (same names as the server's) that already apply to pw.
export function previewReasons(pw, username, minLength) {
  const reasons = [];
  const min = Math.max(minLength || PASSWORD_MIN_LENGTH_FLOOR, PASSWORD_MIN_LENGTH_FLOOR);
  const bytes = new TextEncoder().encode(pw).length;
  if (bytes > PASSWORD_MAX_BYTES) return ['too_long'];
  let lower = false; let upper = false; let digit = false; let special = false; let control = false;
  let count = 0;
  for (const ch of pw) {
    const cp = ch.codePointAt(0);
    count += 1;
    if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)) control = true;
    else if (cp >= 0x61 && cp <= 0x7a) lower = true;
    else if (cp >= 0x41 && cp <= 0x5a) upper = true;
    else if (cp >= 0x30 && cp <= 0x39) digit = true;
    else special = true;
  }
  if (count < min) reasons.push('too_short');
  if (control) reasons.push('invalid_characters');
  if (!lower) reasons.push('missing_lowercase');
  if (!upper) reasons.push('missing_uppercase');
  if (!digit) reasons.push('missing_digit');
  if (!special) reasons.push('missing_special');
  const u = normalise(username || '');
  if (u.length >= 3 && normalise(pw).includes(u)) reasons.push('contains_username');
  return reasons;
}

// The rules shown as a checklist, in order, each with the reason code that breaks it.
export const CHECKLIST = ['too_short', 'missing_lowercase', 'missing_uppercase', 'missing_digit', 'missing_special', 'contains_username'];
