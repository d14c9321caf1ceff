/**
 * Against a real opentracker with a real aria2c seeding: our HTTP and UDP clients see the
 * seeder (opentracker shares one swarm between both), scrape counts it, and a tier whose
 * first trackers are dead (closed TCP port, silent UDP socket) falls through to the live one
 * within test-shortened timeouts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpentracker, type Opentracker } from '../helpers/opentracker.js';
import { freePort } from '../helpers/ports.js';
import { sleep, stopAll } from '../helpers/proc.js';
import { announce, scrape } from '../../src/tracker/announce.js';
import { TrackerSet } from '../../src/tracker/tiers.js';
import type { AnnounceParams } from '../../src/tracker/types.js';
import { UdpTrackerClient } from '../../src/tracker/udp-client.js';
import { makeTorrent, startAria2Seeder, type MadeTorrent } from './real-clients.js';

let dir = '';
let ot: Opentracker | undefined;
let torrent: MadeTorrent;
let seederPort = 0;
let silent: Socket | undefined;
let silentUrl = '';
let closedUrl = '';
const udp = new UdpTrackerClient({ baseTimeoutMs: 100, maxRetries: 1 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-ot-'));
  const data = randomBytes(200_000);
  const probe = await makeTorrent(dir, [['http://127.0.0.1:9/announce']], data);
  ot = await startOpentracker({ infoHashesHex: [probe.infoHashHex] });
  torrent = await makeTorrent(dir, [[ot.httpUrl]], data);
  assert.equal(torrent.infoHashHex, probe.infoHashHex);
  seederPort = (await startAria2Seeder(torrent)).port;
  // the seeder announces on start; wait (bounded) until opentracker lists it
  for (let i = 0; i < 100; i++) {
    const s = await scrape(ot.httpUrl, [Buffer.from(torrent.infoHashHex, 'hex')], { timeoutMs: 1000 }).catch(() => undefined);
    if ((s?.get(torrent.infoHashHex)?.complete ?? 0) >= 1) break;
    await sleep(200);
  }
  silent = createSocket('udp4');
  silent.on('error', () => undefined);
  await new Promise<void>((r) => silent!.bind(0, '127.0.0.1', r));
  silentUrl = `udp://127.0.0.1:${silent.address().port}/announce`;
  closedUrl = `http://127.0.0.1:${await freePort()}/announce`;
});

after(async () => {
  udp.close();
  silent?.close();
  await stopAll();
  await ot?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const params = (extra: Partial<AnnounceParams> = {}): AnnounceParams => ({
  infoHash: Buffer.from(torrent.infoHashHex, 'hex'),
  peerId: Buffer.from('-TS0001-interop00001', 'latin1'),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 1000,
  ...extra,
});

test('HTTP scrape and announce: opentracker lists the aria2c seeder', async () => {
  const s = await scrape(ot!.httpUrl, [Buffer.from(torrent.infoHashHex, 'hex')]);
  assert.ok((s.get(torrent.infoHashHex)?.complete ?? 0) >= 1, 'scrape complete >= 1');
  const r = await announce(ot!.httpUrl, params({ event: 'started' }));
  assert.ok(r.peers.some((p) => p.host === '127.0.0.1' && p.port === seederPort), JSON.stringify(r.peers));
  assert.ok((r.complete ?? 0) >= 1);
  await announce(ot!.httpUrl, params({ event: 'stopped' }));
});

test('UDP announce and scrape: the same swarm, the same seeder', async () => {
  const r = await udp.announce(ot!.udpUrl, params({ event: 'started' }));
  assert.ok(r.peers.some((p) => p.host === '127.0.0.1' && p.port === seederPort), JSON.stringify(r.peers));
  const s = await udp.scrape(ot!.udpUrl, [Buffer.from(torrent.infoHashHex, 'hex')]);
  assert.ok((s.get(torrent.infoHashHex)?.complete ?? 0) >= 1);
  await udp.announce(ot!.udpUrl, params({ event: 'stopped' }));
});

test('opentracker refuses an info hash that is not whitelisted: a typed tracker-failure', async () => {
  await assert.rejects(announce(ot!.httpUrl, params({ infoHash: Buffer.alloc(20, 7) })), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'tracker-failure');
});

test('a tier whose first trackers are dead falls through to the live one in bounded time', async () => {
  const set = new TrackerSet([[closedUrl, silentUrl, ot!.udpUrl]], { udp, random: () => 0.999999 });
  const started = performance.now();
  const { url, result } = await set.announce(params());
  const elapsed = performance.now() - started;
  assert.equal(url, ot!.udpUrl);
  assert.ok(result.peers.some((p) => p.port === seederPort));
  // silent UDP: 100 ms + 200 ms; the closed TCP port fails at once
  assert.ok(elapsed >= 280 && elapsed < 5000, `took ${elapsed} ms`);
  assert.deepEqual(set.tiers, [[ot!.udpUrl, closedUrl, silentUrl]]);
  await set.announce(params({ event: 'stopped' }));
});
