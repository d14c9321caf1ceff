/**
 * The library against real seeders on loopback: libtorrent (python3-libtorrent) and
 * Transmission seed a single-file and a multi-file torrent, opentracker tracks them. One
 * `Session` downloads two torrents at once; a torrent is paused, resumed and removed; an
 * `AbortSignal` stops a download and the tracker is told; a magnet link gets its metadata and
 * its data over one connection (counted at a TCP relay in front of the libtorrent seeder).
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Session, SessionError, type TorrentHandle } from '../../src/index.js';
import { scrape } from '../../src/tracker/index.js';
import { compareTrees } from '../helpers/data.js';
import { startRelay, type Relay } from '../helpers/relay.js';
import { stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startLibtorrentSeeder, startTransmissionSeeder, type Seeder } from '../helpers/seeders.js';
import { createSwarm, required, type Swarm } from '../helpers/swarm.js';

const MiB = 1024 * 1024;
const LOOPBACK = { host: '127.0.0.1', port: 0, dht: false as const };

/** Resolves on the first `verified` event (a piece is on disk). */
function firstPiece(handle: TorrentHandle): Promise<void> {
  return new Promise((resolve) => (handle.stats().verified > 0 ? resolve() : handle.once('verified', () => resolve())));
}

describe('library: Session and TorrentHandle against libtorrent and Transmission', { timeout: 600_000 }, () => {
  let swarm: Swarm;
  let lt: Seeder;
  let tr: Seeder;
  let relay: Relay | undefined;

  before(async () => {
    swarm = await createSwarm({ label: 'library', singleSize: 12 * MiB, treeFiles: 12, pieceLengthLog2: 16, tracker: 'http' });
    const torrents = [required(swarm.single, 'single'), required(swarm.multi, 'multi')];
    lt = await startLibtorrentSeeder({ torrents, dataDir: swarm.dataDir, workDir: join(swarm.root, 'lt') });
    // Slow enough that a pause or an abort lands in the middle of a download.
    tr = await startTransmissionSeeder({ torrents, dataDir: swarm.dataDir, workDir: join(swarm.root, 'tr'), uploadLimit: 1 * MiB });
    await waitForTrackerPeers(required(swarm.tracker, 'tracker').port, torrents.map((t) => t.infoHash), 2, [lt, tr]);
  });

  after(async () => {
    await relay?.close();
    await stopAll();
    await swarm?.dispose();
  });

  test('two torrents download at once in one session', async () => {
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('two');
      // The rate-limited seeder only, so that neither download is over before the other starts.
      const peers = [{ host: '127.0.0.1', port: tr.port }];
      const a = await session.add(required(swarm.single, 'single').torrentPath, { path: out, peers, trackers: false });
      const b = await session.add(required(swarm.multi, 'multi').torrentPath, { path: out, peers, trackers: false });
      assert.deepEqual(session.torrents.map((h) => h.infoHash).sort(), [a.infoHash, b.infoHash].sort());
      let together = false;
      const watch = (): void => {
        if (a.state === 'downloading' && b.state === 'downloading') together = true;
      };
      for (const h of [a, b]) {
        h.on('verified', watch);
        h.on('state', watch);
      }
      await Promise.all([a.whenDone(), b.whenDone()]);
      assert.ok(together, 'both torrents were downloading at the same time');
      assert.equal(a.stats().fraction, 1);
      assert.equal(b.stats().fraction, 1);
      await compareTrees(join(swarm.dataDir, 'single.bin'), join(out, 'single.bin'));
      await compareTrees(join(swarm.dataDir, 'tree'), join(out, 'tree'));
      assert.ok(b.files().every((f) => f.verifiedBytes === f.length));
    } finally {
      await session.close();
    }
  });

  test('pause, resume and remove (Transmission)', async () => {
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('pause');
      const peers = [{ host: '127.0.0.1', port: tr.port }];
      const handle = await session.add(required(swarm.single, 'single').torrentPath, { path: out, peers, trackers: false });
      const disconnects: string[] = [];
      handle.on('peer-disconnect', (_p, reason) => disconnects.push(reason));
      await firstPiece(handle);
      await handle.pause();
      assert.equal(handle.state, 'paused');
      assert.equal(handle.stats().peers, 0, 'no connection while paused');
      assert.ok(disconnects.length >= 1, 'the seeder connection was closed');
      const kept = handle.stats().verified;
      assert.ok(kept >= 1);
      handle.resume();
      await handle.whenReady();
      assert.equal(handle.stats().resumedBytes > 0 || handle.stats().verified >= kept, true);
      await handle.whenDone();
      await compareTrees(join(swarm.dataDir, 'single.bin'), join(out, 'single.bin'));

      // Remove before completion: whenDone rejects with `removed`, and deleteData takes the files.
      const multi = await session.add(required(swarm.multi, 'multi').torrentPath, { path: out, peers, trackers: false });
      const removed = assert.rejects(multi.whenDone(), (err: unknown) => err instanceof SessionError && err.code === 'removed');
      await firstPiece(multi);
      await multi.remove({ deleteData: true });
      await removed;
      assert.equal(multi.state, 'stopped');
      await assert.rejects(access(join(out, 'tree')), /ENOENT/, 'the removed torrent’s folder is gone');
      await access(join(out, 'single.bin'));
      assert.deepEqual(session.torrents.map((h) => h.infoHash), [handle.infoHash]);
    } finally {
      await session.close();
    }
  });

  test('an AbortSignal stops the download cleanly and the tracker is told', async () => {
    const tracker = required(swarm.tracker, 'tracker');
    const single = required(swarm.single, 'single');
    const session = new Session(LOOPBACK);
    const ac = new AbortController();
    try {
      const out = await swarm.newOutDir('abort');
      // The tracker also lists the fast libtorrent seeder: a download cap keeps the download
      // running (12 MiB at 1 MiB/s) when the signal fires.
      const handle = await session.add(single.torrentPath, { path: out, peers: [{ host: '127.0.0.1', port: tr.port }], signal: ac.signal, maxDownloadRate: 1 * MiB });
      const aborted = assert.rejects(handle.whenDone(), (err: unknown) => err instanceof SessionError && err.code === 'aborted');
      await firstPiece(handle);
      await until(async () => ((await scrape(tracker.httpUrl, [single.infoHash], { timeoutMs: 2000 })).get(single.infoHashHex)?.incomplete ?? 0) >= 1);
      ac.abort();
      await aborted;
      assert.equal(handle.state, 'stopped');
      assert.equal(session.torrents.length, 0);
      // The `stopped` announce went out before whenDone settled: the tracker no longer lists a leecher.
      const entry = (await scrape(tracker.httpUrl, [single.infoHash], { timeoutMs: 2000 })).get(single.infoHashHex);
      assert.equal(entry?.incomplete ?? 0, 0);
    } finally {
      await session.close();
    }
  });

  test('a magnet link: metadata and data over one connection to libtorrent', async () => {
    const single = required(swarm.single, 'single');
    relay = await startRelay({ host: '127.0.0.1', port: lt.port });
    const session = new Session(LOOPBACK);
    try {
      const out = await swarm.newOutDir('magnet');
      const handle = await session.add(`magnet:?xt=urn:btih:${single.infoHashHex}&dn=single.bin&x.pe=127.0.0.1:${relay.port}`, { path: out, trackers: false });
      assert.equal(handle.state, 'metadata');
      let connects = 0;
      const log: string[] = [];
      handle.on('peer-connect', (p) => {
        connects++;
        log.push(`connect ${p.port} in ${handle.state}`);
      });
      handle.on('peer-disconnect', (p, reason) => log.push(`disconnect ${p.port} in ${handle.state}: ${reason}`));
      const meta = new Promise<void>((resolve) => handle.once('metadata', () => resolve()));
      await handle.whenDone();
      await meta;
      await compareTrees(join(swarm.dataDir, 'single.bin'), join(out, 'single.bin'));
      assert.equal(relay.accepted, 1, `libtorrent saw one connection for the metadata and the data\n${log.join('\n')}`);
      assert.equal(connects, 1);
      assert.equal(handle.stats().hashFailures, 0);
    } finally {
      await session.close();
    }
  });
});

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail('condition not met within 30 s');
}
