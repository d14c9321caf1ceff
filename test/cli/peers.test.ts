/**
 * `tessera peers` against a real opentracker with a real aria2c seeder, over HTTP and UDP,
 * next to a dead HTTP tracker (closed port) and a dead UDP tracker (a socket that never
 * answers). The UDP timeouts are shortened through the CLI's hidden environment knobs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOpentracker, type Opentracker } from '../helpers/opentracker.js';
import { freePort } from '../helpers/ports.js';
import { sleep, startProc, stopAll } from '../helpers/proc.js';
import { scrape } from '../../src/tracker/announce.js';
import { makeTorrent, startAria2Seeder, type MadeTorrent } from '../tracker/real-clients.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ENV = { ...process.env, TESSERA_UDP_TIMEOUT_MS: '100', TESSERA_UDP_RETRIES: '1', TESSERA_TRACKER_TIMEOUT_MS: '3000' };

let dir = '';
let ot: Opentracker | undefined;
let torrent: MadeTorrent;
let seederPort = 0;
let silent: Socket | undefined;
let silentUrl = '';
let closedUrl = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-peers-'));
  const data = randomBytes(100_000);
  const probe = await makeTorrent(dir, [['http://127.0.0.1:9/announce']], data);
  ot = await startOpentracker({ infoHashesHex: [probe.infoHashHex] });
  silent = createSocket('udp4');
  silent.on('error', () => undefined);
  await new Promise<void>((r) => silent!.bind(0, '127.0.0.1', r));
  silentUrl = `udp://127.0.0.1:${silent.address().port}/announce`;
  closedUrl = `http://127.0.0.1:${await freePort()}/announce`;
  torrent = await makeTorrent(dir, [[closedUrl], [silentUrl], [ot.httpUrl], [ot.udpUrl]], data);
  seederPort = (await startAria2Seeder(torrent)).port;
  for (let i = 0; i < 100; i++) {
    const s = await scrape(ot.httpUrl, [Buffer.from(torrent.infoHashHex, 'hex')], { timeoutMs: 1000 }).catch(() => undefined);
    if ((s?.get(torrent.infoHashHex)?.complete ?? 0) >= 1) break;
    await sleep(200);
  }
});

after(async () => {
  silent?.close();
  await stopAll();
  await ot?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function peers(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = startProc('tessera-peers', process.execPath, [cli, 'peers', ...args], { env: ENV });
  const exit = await proc.waitForExit(30_000);
  return { code: exit.code, stdout: proc.stdout, stderr: proc.stderr };
}

interface JsonTracker {
  url: string;
  ok: boolean;
  code?: string;
  peers?: { host: string; port: number }[];
}

test('--json: the seeder over HTTP and over UDP, and each dead tracker with its error', async () => {
  const started = performance.now();
  const r = await peers(torrent.torrentPath, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(performance.now() - started < 15_000);
  const out = JSON.parse(r.stdout) as { infoHash: string; trackers: JsonTracker[] };
  assert.equal(out.infoHash, torrent.infoHashHex);
  const by = new Map(out.trackers.map((t) => [t.url, t]));
  assert.equal(out.trackers.length, 4);
  for (const url of [ot!.httpUrl, ot!.udpUrl]) {
    const t = by.get(url);
    assert.equal(t?.ok, true, JSON.stringify(t));
    assert.ok(t?.peers?.some((p) => p.host === '127.0.0.1' && p.port === seederPort), JSON.stringify(t));
  }
  assert.deepEqual([by.get(closedUrl)?.ok, by.get(closedUrl)?.code], [false, 'tracker-network']);
  assert.deepEqual([by.get(silentUrl)?.ok, by.get(silentUrl)?.code], [false, 'tracker-timeout']);
  // event=stopped was sent: only the seeder is left
  const s = await scrape(ot!.httpUrl, [Buffer.from(torrent.infoHashHex, 'hex')]);
  assert.deepEqual(s.get(torrent.infoHashHex), { complete: 1, downloaded: 0, incomplete: 0 });
});

test('text output: one block per tracker, peers indented, errors on their line', async () => {
  const r = await peers(torrent.torrentPath);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `info hash ${torrent.infoHashHex}`);
  assert.ok(lines.some((l) => l.startsWith(`${ot!.udpUrl}: `) && / peers? \(1 seeders, \d+ leechers\)$/.test(l)), r.stdout);
  assert.ok(lines.includes(`  127.0.0.1:${seederPort}`), r.stdout);
  assert.ok(lines.some((l) => l.startsWith(`${closedUrl}: error: cannot reach tracker`)), r.stdout);
  assert.ok(lines.some((l) => l.startsWith(`${silentUrl}: error: udp tracker`)), r.stdout);
});

test('a magnet link with a UDP tracker works too', async () => {
  const r = await peers(`magnet:?xt=urn:btih:${torrent.infoHashHex}&tr=${encodeURIComponent(ot!.udpUrl)}`, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { trackers: JsonTracker[] };
  assert.ok(out.trackers[0]?.peers?.some((p) => p.port === seederPort));
});

test('exit 1 when no tracker answers; exit 2 on a bad command line', async () => {
  const dead = await makeTorrent(join(dir, 'dead'), [[closedUrl], [silentUrl]]);
  const r = await peers(dead.torrentPath, '--json');
  assert.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { trackers: JsonTracker[] };
  assert.deepEqual(out.trackers.map((t) => t.ok), [false, false]);
  assert.equal((await peers()).code, 2);
  assert.equal((await peers('a', 'b')).code, 2);
});
