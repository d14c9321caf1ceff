#!/usr/bin/env bash
# patch-webtorrent.sh WT_DIR: make a scratch `npm install --ignore-scripts webtorrent-cli@6.0.1`
# usable offline, on loopback, with TCP only. Idempotent; keeps *.orig copies.
#  - webrtc-polyfill needs the native node-datachannel addon, whose install script downloads a
#    prebuilt binary (skipped by --ignore-scripts): replace it with a stub that throws when used.
#    TCP peers never need WebRTC.
#  - webtorrent-cli has no switches for DHT/LSD/PEX/UPnP/NAT-PMP/uTP: add them to every
#    `new WebTorrent({`. uTP stays off (webtorrent tries uTP first and waits seconds before
#    TCP) unless TESSERA_BENCH_WT_UTP=1.
set -euo pipefail
NM=${1:?usage: patch-webtorrent.sh WT_DIR}/node_modules
poly=$NM/webrtc-polyfill/index.js
cli=$NM/webtorrent-cli/bin/cmd.js
[ -f "$cli" ] || { echo "patch-webtorrent: $cli not found" >&2; exit 1; }
if [ -f "$poly" ] && ! grep -q 'tessera-bench stub' "$poly"; then
  cp "$poly" "$poly.orig"
  cat > "$poly" <<'JS'
// tessera-bench stub: node-datachannel (native) is not installed; WebRTC is not used on loopback TCP
class Unavailable { constructor () { throw new Error('WebRTC unavailable (tessera-bench stub)') } }
export const RTCPeerConnection = Unavailable
export const RTCSessionDescription = Unavailable
export const RTCIceCandidate = Unavailable
export const RTCIceTransport = Unavailable
export const RTCDataChannel = Unavailable
export const RTCSctpTransport = Unavailable
export const RTCDtlsTransport = Unavailable
export const RTCCertificate = Unavailable
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
JS
fi
if ! grep -q 'tessera-bench patch' "$cli"; then
  cp "$cli" "$cli.orig"
  sed -i "s|new WebTorrent({|new WebTorrent({ /* tessera-bench patch */ dht: false, lsd: false, utPex: false, natUpnp: false, natPmp: false, utp: process.env.TESSERA_BENCH_WT_UTP === '1',|" "$cli"
fi
n=$(grep -c 'tessera-bench patch' "$cli")
[ "$n" -ge 1 ] || { echo "patch-webtorrent: no 'new WebTorrent({' found in $cli" >&2; exit 1; }
echo "webtorrent-cli $(node "$cli" --version 2>/dev/null | head -1) patched ($n constructor(s))" >&2
