/**
 * A mixed swarm on loopback: one `tessera seed`, one `tessera download` and one real aria2c
 * leecher, all at once, finding each other through the built-in tracker. Both leechers must
 * finish with a byte-for-byte copy, and the seed must stop with exit 0 on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { compareTrees } from '../helpers/data.js';
import { startAria2Leecher } from '../helpers/leechers-real.js';
import { CONTENT_NAME, interruptSeed, makeFixture, startTesseraSeed, waitForScrape, type SeedFixture } from '../helpers/leechers-seed.js';
import { trackedTorrent, type TrackedTorrent } from '../helpers/leechers-suite.js';
import { stopAll } from '../helpers/proc.js';
import { parseSummary, startDownload } from '../helpers/tessera.js';

const TIMEOUT_MS = 180_000;

let fx: SeedFixture | undefined;
let tracked: TrackedTorrent | undefined;

before(async () => {
  fx = await makeFixture('mixed-swarm');
  tracked = await trackedTorrent(fx, 'builtin');
});

after(async () => {
  await stopAll();
  await tracked?.stop();
  await fx?.dispose();
});

test('tessera seed serves a tessera leecher and an aria2c leecher at once, both byte for byte', { timeout: 400_000 }, async () => {
  assert.ok(fx !== undefined && tracked !== undefined, 'fixture and tracker are set up');
  const seed = await startTesseraSeed({ torrent: tracked.torrent, dir: fx.dataDir });
  await waitForScrape(tracked.announceUrl, tracked.meta, { complete: 1 });
  const tesseraOut = join(fx.root, 'out-tessera');
  const aria2Out = join(fx.root, 'out-aria2');
  const tessera = await startDownload({ torrent: tracked.torrent, outDir: tesseraOut });
  const aria2 = await startAria2Leecher(tracked.torrent, aria2Out);
  const [tesseraExit, aria2Exit] = await Promise.all([tessera.waitForExit(TIMEOUT_MS), aria2.waitForExit(TIMEOUT_MS)]);
  assert.equal(tesseraExit.code, 0, `tessera download exits 0\n${tessera.tail()}\n${seed.proc.tail()}`);
  assert.equal(aria2Exit.code, 0, `aria2c exits 0 once complete\n${aria2.tail()}\n${seed.proc.tail()}`);
  await compareTrees(fx.source, join(tesseraOut, CONTENT_NAME));
  await compareTrees(fx.source, join(aria2Out, CONTENT_NAME));
  assert.equal(parseSummary(tessera.stdout).hashFailures, 0, 'no hash failure in an honest swarm');
  await interruptSeed(seed.proc);
});
