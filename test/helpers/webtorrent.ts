/**
 * webtorrent-cli (npm) as a real leecher. Installing it takes about a minute, so it is
 * installed once into a cache folder under the OS temp dir and reused by later runs. Two
 * patches make it run here, offline and on loopback only:
 * - webrtc-polyfill becomes a stub: its native dependency downloads a prebuilt binary at
 *   install time (not possible here), and TCP peers need no WebRTC;
 * - webtorrent-cli has no flags for DHT, LSD, PEX, UPnP, NAT-PMP or uTP, so they are turned
 *   off in each `new WebTorrent({` of its command.
 * Encryption is left at webtorrent's default, which opens every connection with MSE.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './proc.js';

const VERSION = '6.0.1';
const INSTALL_TIMEOUT_MS = 600_000;

const POLYFILL_STUB = `// test stub: node-datachannel cannot be built offline; WebRTC is not needed for TCP peers
class Unavailable { constructor () { throw new Error('WebRTC unavailable (test stub)') } }
export const RTCPeerConnection = Unavailable
export const RTCSessionDescription = Unavailable
export const RTCIceCandidate = Unavailable
export const RTCIceTransport = Unavailable
export const RTCDataChannel = Unavailable
export const RTCSctpTransport = Unavailable
export const RTCDtlsTransport = Unavailable
export const RTCCertificate = Unavailable
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate }
`;

const OFFLINE = 'dht: false, lsd: false, utPex: false, natUpnp: false, natPmp: false, utp: false,';

/** The path of webtorrent-cli's `cmd.js`, installed and patched on first use. */
export async function webtorrentCli(): Promise<string> {
  const dir = join(tmpdir(), `tessera-webtorrent-cli-${VERSION}`);
  const cmd = (root: string): string => join(root, 'node_modules', 'webtorrent-cli', 'bin', 'cmd.js');
  if (existsSync(join(dir, '.ready'))) return cmd(dir);
  // Install into a fresh folder and rename it into place: a run never sees half an install.
  const staging = await mkdtemp(join(tmpdir(), 'tessera-webtorrent-cli-staging-'));
  try {
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', staging, `webtorrent-cli@${VERSION}`], INSTALL_TIMEOUT_MS);
    await writeFile(join(staging, 'node_modules', 'webrtc-polyfill', 'index.js'), POLYFILL_STUB);
    const source = await readFile(cmd(staging), 'utf8');
    const patched = source.replaceAll('client = new WebTorrent({', `client = new WebTorrent({ ${OFFLINE}`);
    if (patched === source) throw new Error(`webtorrent-cli ${VERSION}: no 'new WebTorrent({' to patch`);
    await writeFile(cmd(staging), patched);
    await writeFile(join(staging, '.ready'), `${VERSION}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return cmd(dir);
}
