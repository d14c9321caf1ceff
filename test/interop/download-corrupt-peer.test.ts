/**
 * A lying peer (fast, claims every piece, corrupts every block of the even pieces) given with
 * `--peer`, next to an honest libtorrent seeder found through the tracker and throttled so the
 * download lasts a few seconds. Tessera must end with correct data, count the hash failures,
 * ban the liar, close its connection while still downloading, and never reconnect to it.
 * With `--json`, each failure is a `piece-failed` line naming the piece.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareTrees } from '../helpers/data.js';
import { LyingPeer } from '../helpers/lying-peer.js';
import { stopAll } from '../helpers/proc.js';
import { waitForTrackerPeers } from '../helpers/scrape.js';
import { startLibtorrentSeeder } from '../helpers/seeders.js';
import { createSwarm, required, type Swarm } from '../helpers/swarm.js';
import { parseSummary, startDownload } from '../helpers/tessera.js';

const MiB = 1024 * 1024;
const HONEST_RATE = 2 * MiB;

describe('download with a lying peer in the swarm', { timeout: 600_000 }, () => {
  let swarm: Swarm | undefined;
  let liar: LyingPeer | undefined;

  before(async () => {
    const s = await createSwarm({ label: 'corrupt', singleSize: 16 * MiB, tracker: 'http' });
    swarm = s;
    const meta = required(s.single, 'single-file torrent');
    liar = await LyingPeer.start({ meta, contentRoot: join(s.dataDir, meta.name), corrupt: (piece) => piece % 2 === 0, host: '127.0.0.66' });
    const honest = await startLibtorrentSeeder({ torrents: [meta], dataDir: s.dataDir, workDir: join(s.root, 'seeder'), uploadLimit: HONEST_RATE });
    await waitForTrackerPeers(required(s.tracker, 'tracker').port, [meta.infoHash], 1, [honest]);
  });

  after(async () => {
    await liar?.stop();
    await stopAll();
    await swarm?.dispose();
  });

  test('the data is correct, the liar is banned and not contacted again', async () => {
    const s = required(swarm, 'swarm');
    const lying = required(liar, 'lying peer');
    const meta = required(s.single, 'single-file torrent');
    const out = await s.newOutDir('corrupt');
    const proc = await startDownload({ torrent: meta.torrentPath, outDir: out, peers: [`${lying.host}:${lying.port}`] });
    let exitedAt: number;
    try {
      const exit = await proc.waitForExit(240_000);
      exitedAt = Date.now();
      assert.equal(exit.code, 0, `tessera must finish despite the liar (code ${exit.code}, signal ${exit.signal})\n${proc.tail()}`);
    } finally {
      await proc.stop();
    }
    await compareTrees(join(s.dataDir, meta.name), join(out, meta.name));

    const summary = parseSummary(proc.stdout);
    assert.ok(summary.hashFailures >= 1, `the corrupt pieces must be counted as hash failures: ${summary.line}`);
    assert.ok(summary.peersBanned >= 1, `the liar must be banned: ${summary.line}`);

    const log = JSON.stringify(lying.connections);
    assert.ok(lying.connections.some((c) => c.corruptBlocksSent > 0), `tessera must have downloaded from the liar: ${log}`);
    const banned = lying.closedAfterCorruption;
    const firstClose = banned.reduce<number | undefined>((t, c) => (t === undefined || (c.closedAt ?? t) < t ? c.closedAt : t), undefined);
    assert.ok(firstClose !== undefined, `tessera must close the liar's connection itself: ${log}`);
    assert.ok(firstClose < exitedAt - 1000, `the liar must be dropped while downloading, not at exit (closed ${exitedAt - firstClose} ms before exit): ${log}`);
    const reopened = lying.connections.filter((c) => c.openedAt > firstClose);
    assert.equal(reopened.length, 0, `tessera must not reconnect to a banned peer: ${log}`);
  });

  test('--json: a piece-failed line names each failed piece', async () => {
    const s = required(swarm, 'swarm');
    const lying = required(liar, 'lying peer');
    const meta = required(s.single, 'single-file torrent');
    const out = await s.newOutDir('corrupt-json');
    const proc = await startDownload({ torrent: meta.torrentPath, outDir: out, peers: [`${lying.host}:${lying.port}`], args: ['--json'] });
    try {
      const exit = await proc.waitForExit(240_000);
      assert.equal(exit.code, 0, proc.tail());
    } finally {
      await proc.stop();
    }
    const events = proc.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = events.filter((e) => e['event'] === 'piece-failed');
    assert.ok(failed.length >= 1, `a corrupt piece must be reported: ${proc.stdout.slice(-2000)}`);
    failed.forEach((e, i) => {
      assert.ok(Number.isInteger(e['piece']) && (e['piece'] as number) % 2 === 0, `only even pieces are corrupted: ${JSON.stringify(e)}`);
      assert.equal(e['hashFailures'], i + 1, 'the running count');
      assert.equal(e['infoHash'], meta.infoHashHex);
    });
    assert.ok(events.some((e) => e['event'] === 'peer-banned'));
    assert.equal(events.at(-1)?.['event'], 'done');
  });
});
