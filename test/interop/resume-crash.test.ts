/**
 * Crash safety of resume records: a real download (its own process, resume records every
 * 500 ms) from a throttled libtorrent seeder is killed with SIGKILL at 20 seeded-random
 * moments. After each kill, whatever record is on disk must decode, every piece it lists
 * must be valid on disk (data first, then the record), and the restart's check must keep at
 * least those pieces while never claiming one that is not on disk. Then a last run
 * completes, byte-identical to the source.
 *
 * The restart's check runs here on a copy of the record folder (so that this check does not
 * change what the next real run starts from), with the same code the real run uses.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { loadTorrentFile } from '../../src/metainfo/index.js';
import { decodeResume, resumeFilePath, TorrentStorage } from '../../src/storage/index.js';
import { realpath } from 'node:fs/promises';
import { compareTrees } from '../helpers/data.js';
import { sleep, startProc, stopAll } from '../helpers/proc.js';
import { seeded } from '../helpers/random.js';
import { startLibtorrentSeeder, type Seeder } from '../helpers/seeders.js';
import { createSwarm, required, type Swarm } from '../helpers/swarm.js';
import { validPieces } from '../helpers/torrents.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZE = 6 * MiB;
/** 256 KiB/s: the 6 MiB take ~25 s of transfer, spread over the 20 killed runs. */
const SEED_RATE = 256 * KiB;
const KILLS = 20;
const RECORD_INTERVAL_MS = 500;
const child = fileURLToPath(new URL('../helpers/resume-child.js', import.meta.url));

describe('resume records survive kill -9', { timeout: 600_000 }, () => {
  let swarm: Swarm | undefined;
  let seeder: Seeder | undefined;

  before(async () => {
    swarm = await createSwarm({ label: 'resume-crash', singleSize: SIZE, pieceLengthLog2: 16, tracker: 'none' });
    const meta = required(swarm.single, 'single-file torrent');
    seeder = await startLibtorrentSeeder({ torrents: [meta], dataDir: swarm.dataDir, workDir: join(swarm.root, 'seeder'), uploadLimit: SEED_RATE });
  });

  after(async () => {
    await stopAll();
    await swarm?.dispose();
  });

  test(`${KILLS} SIGKILLs at random moments: records never overclaim, restarts keep them, the end is byte-identical`, async (t) => {
    const s = required(swarm, 'swarm');
    const meta = required(s.single, 'single-file torrent');
    const ours = await loadTorrentFile(meta.torrentPath);
    const out = await s.newOutDir('crash');
    const recordDir = join(s.root, 'records');
    const scratch = join(s.root, 'records-copy');
    const peer = `127.0.0.1:${required(seeder, 'seeder').port}`;
    const start = () => startProc('resume-child', process.execPath, [child, meta.torrentPath, out, recordDir, peer, String(RECORD_INTERVAL_MS)], { graceMs: 10_000 });
    const random = seeded(20261202);
    let withRecord = 0;
    let finishedEarly = 0;
    const trace: string[] = [];

    for (let k = 0; k < KILLS; k++) {
      // A quarter of the kills fall anywhere from spawn on (start-up, the check of existing
      // data); the rest at a random moment of the download itself, whatever the machine's load.
      const proc = start();
      const early = random() < 0.25;
      const delay = Math.floor(random() * (early ? 1500 : 3000));
      if (!early) await proc.waitForLine(/^started$/, 120_000);
      await Promise.race([sleep(delay), proc.exited]);
      if (proc.running) proc.signal('SIGKILL');
      else finishedEarly++;
      await proc.waitForExit(20_000);

      const valid = await validPieces(meta, join(out, meta.name));
      const recordFile = resumeFilePath(recordDir, ours.infoHash, await realpath(out));
      const bytes = await readFile(recordFile).catch(() => undefined);
      const listed = bytes === undefined ? [] : [...Array(ours.info.pieceCount).keys()].filter((p) => decodeResume(bytes).verified.has(p));
      if (listed.length > 0) withRecord++;
      const overclaimed = listed.filter((p) => !valid[p]);
      assert.deepEqual(overclaimed, [], `kill ${k} (${early ? 'from spawn' : 'from start'} + ${delay} ms): the record lists pieces that are not valid on disk`);

      await rm(scratch, { recursive: true, force: true });
      await mkdir(scratch, { recursive: true });
      if (bytes !== undefined) await cp(recordDir, scratch, { recursive: true });
      const storage = await TorrentStorage.open(out, ours.info, { resume: { dir: scratch, infoHash: ours.infoHash } });
      let have;
      try {
        have = (await storage.verifyExisting()).have;
      } finally {
        await storage.close();
      }
      const lost = listed.filter((p) => !have.has(p));
      assert.deepEqual(lost, [], `kill ${k} (${early ? 'from spawn' : 'from start'} + ${delay} ms): the restart dropped pieces its record listed`);
      const claimed = [...Array(have.size).keys()].filter((p) => have.has(p) && !valid[p]);
      assert.deepEqual(claimed, [], `kill ${k}: the restart claims pieces that are not valid on disk`);
      trace.push(`${listed.length}/${have.count}`);
    }
    t.diagnostic(`pieces in the record / verified at restart, per kill: ${trace.join(' ')}`);
    assert.ok(withRecord >= 5, `only ${withRecord} of ${KILLS} kills found a non-empty record: the test did not exercise resume`);
    assert.ok(finishedEarly < KILLS / 2, `${finishedEarly} runs finished before their kill: the seeder is not throttled`);

    const last = start();
    await last.waitForLine(/^complete$/, 240_000);
    const exit = await last.waitForExit(30_000);
    assert.equal(exit.code, 0, last.tail());
    await compareTrees(join(s.dataDir, meta.name), join(out, meta.name));
  });
});
