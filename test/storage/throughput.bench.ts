/**
 * Throughput of the storage pipeline; a measurement, not a test (no assertions on time).
 *   node dist/test/storage/throughput.bench.js [MiB=1024] [dir=os.tmpdir()] [poolMiB=64]
 * Commit: one producer copies 16 KiB "blocks" into pool buffers and commits 1 MiB pieces,
 * waiting on the pool when it is empty (the engine's back-pressure), twice: into a new
 * file, then over it (ext4 here extends new files far slower than it overwrites; the
 * second pass shows the pipeline without that cost). Recheck: the same
 * data, warm in the page cache. Reports MB/s, main-thread busy time and peak RSS, next to
 * the single-core SHA-1 and 1 MiB-write speeds measured in the same run: the machine is
 * shared and noisy, so only these ratios compare across runs.
 */
import { createHash } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileTable } from '../../src/metainfo/file-table.js';
import type { InfoDict } from '../../src/metainfo/types.js';
import { BLOCK_SIZE, TorrentStorage } from '../../src/storage/index.js';
import { bytes } from './fixtures.js';

const PIECE = 1 << 20;

function pieceData(base: Buffer, index: number, into: Buffer): void {
  // Copy block by block, as the engine does from socket reads; the index makes pieces differ.
  for (let off = 0; off < PIECE; off += BLOCK_SIZE) base.copy(into, off, off, off + BLOCK_SIZE);
  into.writeUInt32BE(index, 0);
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Single-core SHA-1 and page-cache write speed right now, in MB/s. */
function baselines(dir: string, base: Buffer): { sha1: number; write: number } {
  const n = 256;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) createHash('sha1').update(base).digest();
  const sha1 = (n * PIECE) / seconds(t0) / 1e6;
  const file = path.join(dir, 'baseline.bin');
  const fd = fsSync.openSync(file, 'w');
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fsSync.writeSync(fd, base, 0, PIECE, i * PIECE);
  const write = (n * PIECE) / seconds(t0) / 1e6;
  fsSync.closeSync(fd);
  fsSync.rmSync(file);
  return { sha1, write };
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 1024);
  const dir = await fs.mkdtemp(path.join(process.argv[3] ?? os.tmpdir(), 'tessera-bench-'));
  const base = bytes(PIECE, 42);
  const scratch = Buffer.alloc(PIECE);
  const pieces = Buffer.alloc(mib * 20);
  for (let i = 0; i < mib; i++) {
    pieceData(base, i, scratch);
    createHash('sha1').update(scratch).digest().copy(pieces, i * 20);
  }
  const files = [{ path: ['big.bin'], length: mib * PIECE, offset: 0, pad: false, attr: '' }];
  const info: InfoDict = {
    name: 'big.bin',
    pieceLength: PIECE,
    pieces,
    pieceCount: mib,
    length: mib * PIECE,
    files,
    fileTable: FileTable.fromEntries(files),
    multiFile: false,
    private: false,
  };
  try {
    const b = baselines(dir, base);
    console.log(`baseline: SHA-1 ${b.sha1.toFixed(0)} MB/s per core, 1 MiB writes ${b.write.toFixed(0)} MB/s`);
    const poolBytes = Number(process.argv[4] ?? 64) << 20;
    const store = await TorrentStorage.open(dir, info, { poolBytes });
    console.log(`RSS after open ${(process.memoryUsage.rss() / 1048576).toFixed(0)} MiB, pool ${poolBytes >> 20} MiB`);
    for (const pass of ['new file', 'overwrite']) {
      const t0 = process.hrtime.bigint();
      const elu0 = performance.eventLoopUtilization();
      const commits: Promise<string>[] = [];
      for (let i = 0; i < mib; i++) {
        let buf = store.acquirePieceBuffer(i);
        while (buf === undefined) {
          await new Promise<void>((resolve) => {
            const off = store.onPoolAvailable(() => {
              off();
              resolve();
            });
          });
          buf = store.acquirePieceBuffer(i);
        }
        pieceData(base, i, buf);
        commits.push(store.commitPiece(i, buf));
      }
      const results = await Promise.all(commits);
      const sec = seconds(t0);
      const elu = performance.eventLoopUtilization(elu0);
      if (results.some((r) => r !== 'ok')) throw new Error('a piece failed to verify');
      const mbs = (mib * PIECE) / sec / 1e6;
      console.log(
        `commit ${pass.padEnd(9)} ${mib} MiB: ${mbs.toFixed(0)} MB/s = ${(mbs / b.sha1).toFixed(2)}× one core's SHA-1 (${sec.toFixed(2)} s, event loop utilization ${(elu.utilization * 100).toFixed(0)} %)`,
      );
    }
    for (let run = 0; run < 3; run++) {
      const r0 = process.hrtime.bigint();
      const have = await store.recheck();
      const rs = seconds(r0);
      const gbs = (mib * PIECE) / rs / 1e9;
      console.log(`recheck ${mib} MiB warm: ${gbs.toFixed(2)} GB/s = ${((gbs * 1000) / b.sha1).toFixed(2)}× one core's SHA-1 (${rs.toFixed(2)} s, ${have.count}/${mib} pieces)`);
    }
    await store.close();
    console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// `node --test dist/test/` runs every file under test/ (Node's `**/test/**/*.js` pattern):
// do nothing there, so the benchmark only runs when started by hand.
if (process.env['NODE_TEST_CONTEXT'] === undefined) await main();
