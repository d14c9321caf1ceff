/**
 * The shape shared by the seed interop tests: a torrent made by `tessera create`, a tracker
 * (a real opentracker or Tessera's built-in one), `tessera seed` and one real leecher; the
 * leecher's copy must equal the source byte for byte, and the seed must stop with exit 0.
 *
 * aria2c finds the seed through the tracker and connects to it. Transmission ignores loopback
 * peers from trackers, so it is started first: once the tracker lists it, the seed's first
 * announce returns it and the seed has to connect out to it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Metainfo } from '../../src/metainfo/types.js';
import { startTrackerServer } from '../../src/tracker/index.js';
import { compareTrees } from './data.js';
import { startAria2Leecher, startTransmissionLeecher } from './leechers-real.js';
import { CONTENT_NAME, createWithCli, interruptSeed, makeFixture, startTesseraSeed, waitForScrape, type SeedFixture } from './leechers-seed.js';
import { startOpentracker } from './opentracker.js';
import { stopAll } from './proc.js';

export type TrackerKind = 'opentracker' | 'builtin';

export interface SeedInteropSuite {
  readonly title: string;
  readonly tracker: TrackerKind;
  readonly leecher: 'aria2' | 'transmission';
}

const DOWNLOAD_TIMEOUT_MS = 180_000;

export interface TrackedTorrent {
  readonly torrent: string;
  readonly meta: Metainfo;
  readonly announceUrl: string;
  stop(): Promise<void>;
}

/**
 * `tessera create` for the fixture's content, naming a freshly started tracker. Opentracker
 * is whitelist-only, so the torrent is made once without a tracker to learn the info hash
 * (which does not depend on the announce URL), then again with the tracker's URL.
 */
export async function trackedTorrent(fx: SeedFixture, kind: TrackerKind): Promise<TrackedTorrent> {
  const torrent = join(fx.root, `${kind}.torrent`);
  if (kind === 'builtin') {
    const server = await startTrackerServer({ host: '127.0.0.1', interval: 60 });
    const meta = await createWithCli(fx.source, torrent, [server.httpUrl]);
    return { torrent, meta, announceUrl: server.httpUrl, stop: () => server.close() };
  }
  const bare = await createWithCli(fx.source, join(fx.root, 'bare.torrent'));
  const ot = await startOpentracker({ infoHashesHex: [bare.infoHashHex] });
  try {
    const meta = await createWithCli(fx.source, torrent, [ot.httpUrl]);
    assert.equal(meta.infoHashHex, bare.infoHashHex, 'the announce URL does not change the info hash');
    return { torrent, meta, announceUrl: ot.httpUrl, stop: () => ot.stop() };
  } catch (err) {
    await ot.stop();
    throw err;
  }
}

export function seedInteropSuite(suite: SeedInteropSuite): void {
  describe(suite.title, { timeout: 400_000 }, () => {
    let fx: SeedFixture | undefined;
    let tracked: TrackedTorrent | undefined;

    before(async () => {
      fx = await makeFixture(`seed-${suite.leecher}-${suite.tracker}`);
      tracked = await trackedTorrent(fx, suite.tracker);
    });

    after(async () => {
      await stopAll();
      await tracked?.stop();
      await fx?.dispose();
    });

    test(`${suite.leecher} downloads a tessera-created torrent from tessera seed, byte for byte`, async () => {
      assert.ok(fx !== undefined && tracked !== undefined, 'fixture and tracker are set up');
      const out = join(fx.root, 'out');
      if (suite.leecher === 'aria2') {
        const seed = await startTesseraSeed({ torrent: tracked.torrent, dir: fx.dataDir });
        await waitForScrape(tracked.announceUrl, tracked.meta, { complete: 1 });
        const leecher = await startAria2Leecher(tracked.torrent, out);
        const exit = await leecher.waitForExit(DOWNLOAD_TIMEOUT_MS);
        assert.equal(exit.code, 0, `aria2c exits 0 once complete\n${leecher.tail()}\n${seed.proc.tail()}`);
        await compareTrees(fx.source, join(out, CONTENT_NAME));
        await interruptSeed(seed.proc);
      } else {
        const leecher = await startTransmissionLeecher(tracked.torrent, out, join(fx.root, 'work'));
        await waitForScrape(tracked.announceUrl, tracked.meta, { incomplete: 1 });
        const seed = await startTesseraSeed({ torrent: tracked.torrent, dir: fx.dataDir });
        try {
          await leecher.waitComplete(DOWNLOAD_TIMEOUT_MS);
        } catch (err) {
          throw new Error(`${err instanceof Error ? err.message : String(err)}\n${seed.proc.tail()}`);
        }
        await compareTrees(fx.source, join(out, CONTENT_NAME));
        await interruptSeed(seed.proc);
      }
    });
  });
}
