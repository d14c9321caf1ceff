/**
 * `tessera seed` under hostile peers the test starts on loopback:
 *  - a peer that floods ut_metadata and block requests and never reads the answers: the
 *    seeder's resident memory stays bounded (measured from /proc), it stops reading the flood,
 *    and it drops the peer;
 *  - 70 peers (from 70 loopback addresses, so the per-IP limit does not stop them) that
 *    handshake and then send only keep-alives, holding every connection slot: a real leecher
 *    (`tessera download`) still gets a slot, by turnover, and completes.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { compareTrees } from '../helpers/data.js';
import { connectRaw, extendedFrame, frame, requestFrame, type RawPeer } from '../helpers/hostile-peer.js';
import { CONTENT_NAME, createWithCli, makeFixture, startTesseraSeed, type SeedFixture } from '../helpers/leechers-seed.js';
import { run, sleep, stopAll } from '../helpers/proc.js';
import { cliPath, startDownload } from '../helpers/tessera.js';

const MiB = 1024 * 1024;

let fx: SeedFixture | undefined;
const raw: RawPeer[] = [];

before(async () => {
  fx = await makeFixture('seed-hostile');
});

after(async () => {
  for (const p of raw) p.socket.destroy();
  await stopAll();
  await fx?.dispose();
});

function fixture(): SeedFixture {
  assert.ok(fx !== undefined, 'the test fixture was not created');
  return fx;
}

/** Resident set size of a process, from /proc/<pid>/status. */
async function rssBytes(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null, `no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

async function until(probe: () => boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (probe()) return;
  assert.fail(`${what} (not within ${ms} ms)`);
}

describe('tessera seed against hostile peers', { timeout: 600_000 }, () => {
  test('a peer that floods requests and never reads: bounded memory, reading stops, the peer is dropped', async (t) => {
    const f = fixture();
    // 16 KiB pieces: the info dictionary (about 19 KB) is two full ut_metadata pieces, so each
    // metadata answer is 16 KiB for a 30-byte request.
    const torrentPath = join(f.root, 'small-pieces.torrent');
    await run(process.execPath, [cliPath, 'create', f.source, '-o', torrentPath, '--piece-length', '16KiB'], 60_000);
    const meta = parseTorrent(await readFile(torrentPath));
    assert.ok(meta.infoBytes.length > 16 * 1024, `metadata of ${meta.infoBytes.length} bytes spans two pieces`);
    const seed = await startTesseraSeed({ torrent: torrentPath, dir: f.dataDir });
    await sleep(1000);
    const baseline = await rssBytes(seed.proc.pid);

    const flooder = connectRaw(seed.port, meta.infoHash, { extensions: true, read: false });
    raw.push(flooder);
    await flooder.handshaken;
    // Extended handshake: we take ut_metadata on id 3. Then interest, and the flood: 600,000
    // metadata requests (each would be answered with 16 KiB: about 9 GiB) and 20,000 block
    // requests for four pieces, never reading a byte of the answers.
    flooder.socket.write(extendedFrame(0, 'd1:md11:ut_metadatai3eee'));
    flooder.socket.write(frame(2));
    const metaRequests = Buffer.concat(
      Array.from({ length: 1000 }, (_, i) => extendedFrame(1, `d8:msg_typei0e5:piecei${i % 2}ee`)),
    );
    const blockRequests = Buffer.concat(Array.from({ length: 200 }, (_, i) => requestFrame(i % 4, (i % 1) * 16384, 16384)));
    for (let round = 0; round < 600; round++) {
      flooder.socket.write(metaRequests);
      if (round % 6 === 0) flooder.socket.write(blockRequests);
    }
    const flooded = flooder.socket.writableLength;

    let peak = baseline;
    for (let i = 0; i < 100 && !flooder.isClosed(); i++) {
      peak = Math.max(peak, await rssBytes(seed.proc.pid));
      await sleep(100);
    }
    const growth = peak - baseline;
    t.diagnostic(`seeder RSS: baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB under a ${(flooded / MiB).toFixed(1)} MiB flood; ${flooder.socket.writableLength} bytes of it unread`);
    assert.ok(growth < 64 * MiB, `seeder RSS grew ${(growth / MiB).toFixed(1)} MiB under the flood (baseline ${(baseline / MiB).toFixed(1)} MiB); bound 64 MiB`);
    // The seeder stopped reading: most of the ~19 MB flood still waits on our side.
    assert.ok(flooder.isClosed() || flooder.socket.writableLength > flooded / 4, `the seeder stopped reading (${flooder.socket.writableLength} of ${flooded} bytes unsent)`);
    // ...and drops the peer that does not read (after its 30 s grace).
    const closed = await Promise.race([flooder.closed.then(() => true), sleep(90_000).then(() => false)]);
    assert.equal(closed, true, 'the seeder closes the connection of a peer that never reads');
    assert.ok(seed.proc.running, `the seeder is still running\n${seed.proc.tail()}`);
    await seed.proc.stop();
  });

  test('70 idle peers hold every slot: a real leecher still gets one and completes', async (t) => {
    const f = fixture();
    const torrentPath = join(f.root, 'lockout.torrent');
    const meta = await createWithCli(f.source, torrentPath);
    const seed = await startTesseraSeed({ torrent: torrentPath, dir: f.dataDir });
    // 60 connections + 10 for incoming peers: 70 slots, all taken by peers from 127.0.0.10-79.
    for (let i = 0; i < 70; i++) raw.push(connectRaw(seed.port, meta.infoHash, { localAddress: `127.0.0.${10 + i}` }));
    const idle = raw.slice(-70);
    await Promise.all(idle.map((p) => p.handshaken));
    const keepAlive = setInterval(() => {
      for (const p of idle) if (!p.isClosed()) p.socket.write(Buffer.alloc(4));
    }, 20_000);
    try {
      await sleep(1000);
      assert.equal(idle.filter((p) => p.isClosed()).length, 0, 'every idle peer holds its slot');

      const out = join(f.root, 'lockout-out');
      const leecher = await startDownload({ torrent: torrentPath, outDir: out, peers: [`127.0.0.1:${seed.port}`] });
      const exit = await leecher.waitForExit(180_000);
      assert.equal(exit.code, 0, `the leecher completes despite the idle peers\n${leecher.tail()}\n${seed.proc.tail()}`);
      await compareTrees(f.source, join(out, CONTENT_NAME));
      const evicted = idle.filter((p) => p.isClosed()).length;
      t.diagnostic(`idle peers closed to make room: ${evicted} of 70`);
      assert.ok(evicted >= 1 && evicted <= 5, `turnover closed a few idle peers to make room (${evicted})`);
    } finally {
      clearInterval(keepAlive);
    }
    await until(() => seed.proc.running, 1000, 'the seeder runs');
    await seed.proc.stop();
  });
});
