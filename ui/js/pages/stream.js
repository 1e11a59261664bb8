// pages/stream.js — video stream settings (resolution, frame rate, bitrate, keyframe interval, sub
// stream). Ranges mirror lib/config; applying them restarts the media pipeline, not the camera.
import { settingsPage } from '../settings-form.js';

export const STREAM_FIELDS = [
  { key: 'width', label: 'stream.width', type: 'int', min: 160, max: 1920, step: 2, unit: 'px' },
  { key: 'height', label: 'stream.height', type: 'int', min: 120, max: 1080, step: 2, unit: 'px' },
  { key: 'fps', label: 'stream.fps', type: 'int', min: 1, max: 30, unit: 'fps' },
  { key: 'bitrate_kbps', label: 'stream.bitrate_kbps', type: 'int', min: 100, max: 8000, unit: 'kbit/s' },
  { key: 'keyframe_interval_s', label: 'stream.keyframe_interval_s', type: 'int', min: 1, max: 10, unit: 's' },
  { key: 'sub_enabled', label: 'stream.sub_enabled', type: 'bool', hint: 'stream.sub_hint' },
];

export function render(ctx) {
  return settingsPage(ctx, { id: 'stream', url: '/api/v1/settings/stream', title: 'stream.title', intro: 'stream.intro', fields: STREAM_FIELDS, pick: (j) => (j && typeof j.stream === 'object' ? j.stream : j) });
}
