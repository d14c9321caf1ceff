/**
 * The Tessera side of the seed tests: deterministic content in a temp folder, a torrent for it
 * made by `tessera create` (the CLI, so its worker-pool hasher is what gets tested), and a
 * `tessera seed` process that is ready once it has verified the data. Every process goes
 * through proc.ts, so it is stopped by PID.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTorrent } from '../../src/metainfo/index.js';
import type { Metainfo } from '../../src/metainfo/types.js';
import { scrape } from '../../src/tracker/index.js';
import { writeRandomFile } from './data.js';
import { freePort } from './ports.js';
import { run, sleep, startProc, type Proc } from './proc.js';
import { CLI_NODE_ARGS, cliPath } from './tessera.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The content's folder name, hence the torrent's name. */
export const CONTENT_NAME = 'content';

export interface FixtureFile {
  readonly path: string;
  readonly size: number;
}

/**
 * Three files with odd sizes (about 14 MiB in all) so that 256 KiB pieces cross file
 * boundaries; no empty file, which not every real client creates.
 */
const LAYOUT: readonly FixtureFile[] = [
  { path: 'big.bin', size: 12 * MiB + 12_345 },
  { path: join('a', 'small.bin'), size: 300 * KiB + 7 },
  { path: join('a', 'b', 'mid.bin'), size: 2 * MiB + 1 },
];

export interface SeedFixture {
  /** Temp folder for everything of this test file. */
  readonly root: string;
  /** Holds `<CONTENT_NAME>`: the `<dir>` argument of `tessera seed`. */
  readonly dataDir: string;
  /** `<dataDir>/<CONTENT_NAME>`, the source to compare downloads with. */
  readonly source: string;
  /** Remove the temp folder. */
  dispose(): Promise<void>;
}

/** The content in a fresh temp folder: `LAYOUT` unless a test needs another (a slow path wants less). */
export async function makeFixture(label: string, layout: readonly FixtureFile[] = LAYOUT): Promise<SeedFixture> {
  const root = await mkdtemp(join(tmpdir(), `tessera-${label}-`));
  const dataDir = join(root, 'data');
  const source = join(dataDir, CONTENT_NAME);
  try {
    for (const f of layout) await writeRandomFile(join(source, f.path), f.size, `${label}:${f.path}`);
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  return { root, dataDir, source, dispose: () => rm(root, { recursive: true, force: true }) };
}

/** `tessera create <source> -o <out> --piece-length 256KiB [--tracker url]...`, parsed back. */
export async function createWithCli(source: string, out: string, trackers: readonly string[] = []): Promise<Metainfo> {
  const args = [cliPath, 'create', source, '-o', out, '--piece-length', '256KiB', ...trackers.flatMap((t) => ['--tracker', t])];
  await run(process.execPath, args, 60_000);
  return parseTorrent(await readFile(out));
}

export interface TesseraSeed {
  readonly proc: Proc;
  readonly port: number;
}

export interface SeedProcOptions {
  readonly torrent: string;
  readonly dir: string;
  /** `--peer host:port` for each. */
  readonly peers?: readonly string[];
}

/**
 * Start `tessera seed` on a fresh port; resolves once it has verified the data (its
 * `complete:` line), which is before its first announce has necessarily reached a tracker.
 */
export async function startTesseraSeed(options: SeedProcOptions): Promise<TesseraSeed> {
  const port = await freePort();
  const args = [...CLI_NODE_ARGS, cliPath, 'seed', options.torrent, options.dir, '--port', String(port)];
  for (const p of options.peers ?? []) args.push('--peer', p);
  const proc = startProc('tessera-seed', process.execPath, args, { graceMs: 10_000 });
  await proc.waitForLine(/^(complete|seeding): /, 60_000);
  return { proc, port };
}

/** Ctrl-C the seed: like every command it exits 130 once the trackers are told, within seconds. */
export async function interruptSeed(seed: Proc): Promise<void> {
  seed.signal('SIGINT');
  const exit = await seed.waitForExit(15_000);
  assert.equal(exit.code, 130, `tessera seed stops with exit 130 on Ctrl-C (got ${exit.code}, signal ${exit.signal})\n${seed.tail()}`);
}

/** Wait until the HTTP tracker `announceUrl` lists at least `complete` seeders and `incomplete` leechers. */
export async function waitForScrape(announceUrl: string, meta: Metainfo, want: { complete?: number; incomplete?: number }, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no reply';
  while (Date.now() < deadline) {
    try {
      const entry = (await scrape(announceUrl, [meta.infoHash], { timeoutMs: 2000 })).get(meta.infoHashHex);
      last = `${entry?.complete ?? 0} seeders, ${entry?.incomplete ?? 0} leechers`;
      if ((entry?.complete ?? 0) >= (want.complete ?? 0) && (entry?.incomplete ?? 0) >= (want.incomplete ?? 0)) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  throw new Error(`tracker ${announceUrl} did not list ${JSON.stringify(want)} within ${timeoutMs} ms (last: ${last})`);
}
