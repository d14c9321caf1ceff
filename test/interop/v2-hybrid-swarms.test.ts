/**
 * A hybrid torrent (BEP 52) in both swarms: Tessera seeding a hybrid answers a handshake under
 * its v1 hash and one under its truncated v2 hash with the same pieces, and announces itself to
 * a real tracker (opentracker) under both.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import type { Metainfo } from '../../src/metainfo/types.js';
import { interruptSeed, makeFixture, startTesseraSeed, waitForScrape, type SeedFixture } from '../helpers/leechers-seed.js';
import { startOpentracker } from '../helpers/opentracker.js';
import { probeSeeder } from '../helpers/probe-peer.js';
import { run, stopAll } from '../helpers/proc.js';
import { cliPath } from '../helpers/tessera.js';
import type { TorrentMeta } from '../helpers/torrents.js';

/** What the probe and seeder helpers read, under the given swarm hash. */
function helperMeta(torrentPath: string, meta: Metainfo, infoHash: Uint8Array): TorrentMeta {
  const pieces = meta.info.pieces;
  return {
    torrentPath,
    name: meta.info.name,
    infoHash: Buffer.from(infoHash),
    infoHashHex: Buffer.from(infoHash).toString('hex'),
    pieceLength: meta.info.pieceLength,
    pieceHashes: Array.from({ length: meta.info.pieceCount }, (_, i) => Buffer.from(pieces.subarray(i * 20, i * 20 + 20))),
    totalLength: meta.info.length,
    files: meta.info.files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset })),
  };
}

let fx: SeedFixture | undefined;
let torrent = '';
let meta: Metainfo | undefined;
before(async () => {
  fx = await makeFixture('v2-hybrid');
  torrent = join(fx.root, 'hybrid.torrent');
  await run(process.execPath, [cliPath, 'create', fx.source, '-o', torrent, '--piece-length', '64KiB', '--hybrid'], 60_000);
  meta = parseTorrent(await readFile(torrent));
});
after(async () => {
  await stopAll();
  await fx?.dispose();
});

describe('hybrid torrents in both swarms', { timeout: 300_000 }, () => {
  test('a seeding hybrid answers under its v1 hash and under its truncated v2 hash with the same verified pieces', async () => {
    assert.ok(fx !== undefined && meta?.v2 !== undefined);
    const seed = await startTesseraSeed({ torrent, dir: fx.dataDir });
    try {
      const all = Array.from({ length: meta.info.pieceCount }, (_, i) => i);
      for (const hash of [meta.infoHash, meta.v2.infoHash.subarray(0, 20)]) {
        const probe = await probeSeeder(seed.port, helperMeta(torrent, meta, hash), all);
        assert.ok(probe.has.every(Boolean), 'the seed has every piece');
        assert.deepEqual(probe.verified, all, `every piece verifies when asked under ${Buffer.from(hash).toString('hex')}`);
      }
    } finally {
      await interruptSeed(seed.proc);
    }
  });

  test('a seeding hybrid is listed by opentracker under both hashes', async () => {
    assert.ok(fx !== undefined && meta?.v2 !== undefined);
    const v2Hex = meta.v2.infoHashHex.slice(0, 40);
    const tracker = await startOpentracker({ infoHashesHex: [meta.infoHashHex, v2Hex] });
    try {
      const tracked = join(fx.root, 'tracked.torrent');
      await run(process.execPath, [cliPath, 'create', fx.source, '-o', tracked, '--piece-length', '64KiB', '--hybrid', '--tracker', tracker.httpUrl], 60_000);
      const m = parseTorrent(await readFile(tracked));
      const seed = await startTesseraSeed({ torrent: tracked, dir: fx.dataDir });
      try {
        await waitForScrape(tracker.httpUrl, m, { complete: 1 });
        await waitForScrape(tracker.httpUrl, { ...m, infoHash: m.v2!.infoHash.subarray(0, 20), infoHashHex: m.v2!.infoHashHex.slice(0, 40) }, { complete: 1 });
      } finally {
        await interruptSeed(seed.proc);
      }
    } finally {
      await tracker.stop();
    }
  });
});
