// The npm package `onvif` (agsh/onvif) adding the camera as a recorder does, over HTTPS with the device
// certificate trusted, for tests/system/test_onvif_snapshot.py:
//   NODE_PATH=<dir>/node_modules node onvif_npm_client.cjs HOST PORT USER SECRET CAFILE
// connect (GetSystemDateAndTime, GetServices/GetCapabilities, GetProfiles, GetVideoSources), GetDeviceInformation,
// GetStreamUri and GetSnapshotUri of the first profile. Prints one JSON object:
// {"ok", "ms", "info", "profiles": [token...], "stream_uri", "snapshot_uri", "error"?}.
'use strict';
const fs = require('fs');
const { Cam } = require('onvif');
const [host, port, user, secret, cafile] = process.argv.slice(2);
const t0 = process.hrtime.bigint();
const out = { ok: false };
const done = (err) => {
  if (err) out.error = String(err && err.message ? err.message : err);
  out.ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
};
const cam = new Cam({ hostname: host, port: Number(port), username: user, password: secret, useSecure: true,
                      secureOpts: { ca: fs.readFileSync(cafile) }, autoconnect: false, timeout: 15000 });
cam.connect((err) => {
  if (err) return done(err);
  out.profiles = (cam.profiles || []).map((p) => p.$.token);
  cam.getDeviceInformation((err, info) => {
    if (err) return done(err);
    out.info = info;
    const profileToken = out.profiles[0];
    cam.getStreamUri({ protocol: 'RTSP', profileToken }, (err, s) => {
      if (err) return done(err);
      out.stream_uri = s.uri;
      cam.getSnapshotUri({ profileToken }, (err, u) => {
        if (err) return done(err);
        out.snapshot_uri = u.uri;
        out.ok = true;
        done();
      });
    });
  });
});
