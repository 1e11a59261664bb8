// The npm package `onvif` (agsh/onvif) discovering cameras, for tests/system/test_discovery.py; run inside the
// client network namespace: NODE_PATH=<dir>/node_modules node onvif_npm_discover.cjs [timeout_ms]
// Prints one JSON object: {"found": [{"urn", "xaddrs", "types", "scopes", "from"}], "errors": [...]}.
'use strict';
const onvif = require('onvif');
const found = [];
const errors = [];
onvif.Discovery.on('device', (data, rinfo) => {
  const m = data.probeMatches.probeMatch;
  found.push({ urn: m.endpointReference.address, xaddrs: m.XAddrs, types: m.types, scopes: m.scopes,
               from: rinfo.address });
});
onvif.Discovery.on('error', (e) => errors.push(String(e)));
onvif.Discovery.probe({ resolve: false, timeout: Number(process.argv[2] || 3000) }, () => {
  process.stdout.write(JSON.stringify({ found, errors }) + '\n');
});
