/**
 * Many modest peers: several libtorrent seeders, each capped at a small upload rate, and one
 * Tessera leecher. A swarm like this is only fast when the leecher keeps requests pending with
 * every seeder at once; a leecher that lets a few peers hold all its piece buffers pulls from
 * those few and leaves the rest idle. So the test checks how the bytes were spread: each
 * seeder's share (as the seeder itself counts it) is within a factor of two of every other's.
 * Nothing here is timed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopAll } from '../helpers/proc.js';
import { startLibtorrentSeeder, type Seeder } from '../helpers/seeders.js';
import { createSwarm, downloadAndVerify, required, type Swarm } from '../helpers/swarm.js';

const MiB = 1024 * 1024;
const SEEDERS = 6;
/** Bytes per second each seeder may upload: 12 MiB/s together. */
const CAP = 2 * MiB;

describe('download from several rate-capped libtorrent seeders', { timeout: 600_000 }, () => {
  let swarm: Swarm | undefined;
  const seeders: Seeder[] = [];

  before(async () => {
    // 1 MiB pieces: the piece-buffer pool (8 MiB) holds only eight of them
    swarm = await createSwarm({ label: 'capped', singleSize: 40 * MiB, pieceLengthLog2: 20, tracker: 'none' });
    const s = swarm;
    const meta = required(s.single, 'single-file torrent');
    seeders.push(
      ...(await Promise.all(
        Array.from({ length: SEEDERS }, (_, i) =>
          startLibtorrentSeeder({ torrents: [meta], dataDir: s.dataDir, workDir: join(s.root, `seeder-${i}`), uploadLimit: CAP }),
        ),
      )),
    );
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  test('every seeder sends a share within a factor of two of the others', async () => {
    const s = required(swarm, 'swarm');
    const meta = required(s.single, 'single-file torrent');
    const peers = seeders.map((x) => `127.0.0.1:${x.port}`);
    // Every seeder listens on 127.0.0.1: let each have its connection.
    const summary = await downloadAndVerify(s, meta, await s.newOutDir('capped'), 300_000, peers, ['--max-peers-per-ip', String(seeders.length + 1)]);
    assert.equal(summary.hashFailures, 0, summary.line);
    const sent: number[] = [];
    for (const x of seeders) {
      await x.stop();
      const m = /^uploaded=(\d+)$/m.exec(x.proc.stdout);
      assert.ok(m !== null, `seeder on port ${x.port} reports what it sent:\n${x.proc.tail()}`);
      sent.push(Number(m[1]));
    }
    const total = sent.reduce((a, b) => a + b, 0);
    assert.ok(total >= meta.totalLength, `the seeders sent the whole file between them (${total} of ${meta.totalLength} bytes)`);
    const shares = sent.map((b) => `${((100 * b) / total).toFixed(1)} %`).join(', ');
    assert.ok(Math.max(...sent) <= 2 * Math.min(...sent), `each seeder's share within a factor of two of the others: ${shares}`);
  });
});
