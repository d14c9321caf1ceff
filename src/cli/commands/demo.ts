/**
 * `tessera demo [--seeders N] [--size MiB] [--keep]`: a whole swarm in one process, offline.
 * It writes a deterministic sample folder, makes a torrent for it that names the built-in
 * tracker, starts N seeders (each its own Client and port, announcing to that tracker), then
 * downloads the torrent through the same `runTorrent` path as `tessera download`, with the
 * same progress display, and compares the result with the source byte for byte.
 *
 * Everything listens on 127.0.0.1 only, on ports picked by the system, so the demo neither
 * touches the network nor collides with a client already running on 6881.
 */
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createTorrent } from '../../metainfo/create.js';
import { parseTorrent } from '../../metainfo/torrent.js';
import type { Metainfo } from '../../metainfo/types.js';
import type { TorrentHandle } from '../../session/handle.js';
import { Session } from '../../session/session.js';
import { PieceHasher } from '../../storage/index.js';
import { scrape, startTrackerServer, type TrackerServer } from '../../tracker/index.js';
import { CliError, ExitCode, humanBytes, type CliContext, type Command } from '../context.js';
import { runTorrent } from './download.js';
import { parseIntIn } from '../args.js';
import { parseCommandLine } from '../options.js';
import { demoSpec } from '../specs.js';

const HOST = '127.0.0.1';
const MiB = 1024 * 1024;
const MAX_SEEDERS = 16;
/** Every demo peer shares 127.0.0.1: each may connect to every other. */
const LOOPBACK_PEERS_PER_IP = MAX_SEEDERS + 1;
/** Source and copy are both on disk, so twice this much space is needed. */
const MAX_SIZE_MIB = 4096;
const NAME = 'tessera-demo';
/** How long the seeders' first announces may take to show up in a scrape. */
const ANNOUNCE_WAIT_MS = 10_000;
/** Every seeder is on loopback: no peer for this long means something is broken. */
const NO_PEER_TIMEOUT_S = 30;
const CHUNK = MiB;

const README = `This folder was made by 'tessera demo'.

Its bytes are pseudo-random but deterministic (AES-128-CTR over zeros with a fixed key),
so every run shares the same content and the same info hash. The sizes are not multiples
of the piece length: pieces cross file boundaries, as BEP 3 allows.
`;

interface SampleFile {
  readonly path: string;
  readonly size: number;
}

interface Seeder {
  readonly session: Session;
  readonly handle: TorrentHandle;
}

export const demoCommand: Command = async (argv: string[], ctx: CliContext): Promise<number> => {
  const opts = parseDemoArgs(argv);
  const root = await mkdtemp(join(tmpdir(), 'tessera-demo-'));
  const sourceDir = join(root, 'seed');
  const downloadDir = join(root, 'download');
  const seeders: Seeder[] = [];
  let tracker: TrackerServer | undefined;
  try {
    const files = sampleLayout(opts.sizeMiB * MiB);
    ctx.stderr.write(`demo: writing ${humanBytes(opts.sizeMiB * MiB)} of sample data in ${files.length} files under ${root}\n`);
    await writeSample(join(sourceDir, NAME), files, ctx.signal);

    tracker = await startTrackerServer({ host: HOST, httpPort: 0, udpPort: 0 });
    const meta = await makeTorrent(join(sourceDir, NAME), tracker.httpUrl, ctx.signal);
    ctx.stderr.write(`demo: built-in tracker at ${tracker.httpUrl}, info hash ${meta.infoHashHex}, ${meta.info.pieceCount} pieces\n`);

    for (let i = 0; i < opts.seeders; i++) {
      const seeder = await startSeeder(meta, sourceDir, ctx.signal);
      if (seeder === undefined) return ExitCode.interrupted;
      seeders.push(seeder);
    }
    ctx.stderr.write(`demo: ${opts.seeders} seeder(s) on ports ${seeders.map((s) => s.session.port).join(', ')}\n`);
    if (!(await waitForSeeders(tracker.httpUrl, meta, opts.seeders, ctx.signal))) {
      if (ctx.signal.aborted) return ExitCode.interrupted;
      throw new CliError(ExitCode.failed, `the built-in tracker did not list ${opts.seeders} seeder(s) within ${ANNOUNCE_WAIT_MS / 1000} s`);
    }

    const started = Date.now();
    const code = await runTorrent(meta, ctx, {
      outputDir: downloadDir,
      peers: [],
      quiet: false,
      noPeerTimeoutS: NO_PEER_TIMEOUT_S,
      seed: false,
      host: HOST,
      resumeHint: false,
      port: 0,
      maxPeersPerIp: LOOPBACK_PEERS_PER_IP,
    });
    if (code !== ExitCode.ok) return code;
    const seconds = (Date.now() - started) / 1000;

    const mismatch = await compareSample(join(sourceDir, NAME), join(downloadDir, NAME), files, ctx.signal);
    if (ctx.signal.aborted) return ExitCode.interrupted;
    if (mismatch !== undefined) throw new CliError(ExitCode.failed, `the download differs from the source: ${mismatch}`);

    const uploads = seeders.map((s) => s.handle.stats().uploaded);
    const served = uploads.filter((u) => u > 0).length;
    ctx.stdout.write(
      `demo: ${humanBytes(meta.info.length)} in ${files.length} files downloaded and verified byte for byte in ` +
        `${seconds.toFixed(1)} s (${humanBytes(meta.info.length / Math.max(seconds, 0.001))}/s); ` +
        `${served} of ${seeders.length} seeder peers served data (${uploads.map((u) => humanBytes(u)).join(', ')})\n`,
    );
    return ExitCode.ok;
  } catch (err) {
    // Creation and writing throw the signal's AbortError on Ctrl-C: that is a clean stop.
    if (ctx.signal.aborted) return ExitCode.interrupted;
    throw err;
  } finally {
    await Promise.all(seeders.map((s) => s.session.close()));
    await tracker?.close();
    if (opts.keep) ctx.stderr.write(`demo: kept ${root} (seed/ is the source, download/ the copy)\n`);
    else await rm(root, { recursive: true, force: true });
  }
};

interface DemoOptions {
  readonly seeders: number;
  readonly sizeMiB: number;
  readonly keep: boolean;
}

function parseDemoArgs(argv: string[]): DemoOptions {
  const { values } = parseCommandLine(argv, demoSpec);
  const seeders = parseIntIn(values.seeders, '--seeders', 1, MAX_SEEDERS);
  const sizeMiB = parseIntIn(values.size, '--size', 1, MAX_SIZE_MIB);
  return { seeders, sizeMiB, keep: values.keep };
}

/**
 * A README, two mid-sized files in a subfolder and one large file that takes the rest, so
 * the total is exactly `total` bytes. Odd sizes make pieces straddle files.
 */
function sampleLayout(total: number): SampleFile[] {
  const readme = Buffer.byteLength(README);
  const rest = total - readme;
  const a = Math.floor(rest * 0.05) + 1;
  const b = Math.floor(rest * 0.1) - 1;
  return [
    { path: 'README.txt', size: readme },
    { path: join('extras', 'notes.bin'), size: a },
    { path: join('extras', 'sample.bin'), size: b },
    { path: 'large.bin', size: rest - a - b },
  ];
}

/** Deterministic incompressible bytes, fast: AES-128-CTR over zeros with a fixed key. */
function sampleStream(): Cipher {
  const key = createHash('sha256').update('tessera demo sample v1').digest();
  return createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
}

async function writeSample(dir: string, files: readonly SampleFile[], signal: AbortSignal): Promise<void> {
  const stream = sampleStream();
  const zeros = Buffer.alloc(CHUNK);
  for (const f of files) {
    const path = join(dir, f.path);
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, 'w');
    try {
      if (f.path === 'README.txt') {
        await fh.write(README);
        continue;
      }
      for (let done = 0; done < f.size; done += CHUNK) {
        signal.throwIfAborted();
        const n = Math.min(CHUNK, f.size - done);
        await fh.write(stream.update(zeros.subarray(0, n)), 0, n, done);
      }
    } finally {
      await fh.close();
    }
  }
}

async function makeTorrent(folder: string, trackerUrl: string, signal: AbortSignal): Promise<Metainfo> {
  const hasher = new PieceHasher();
  try {
    return parseTorrent(await createTorrent(folder, { trackers: [[trackerUrl]], hasher, signal, comment: 'made by tessera demo' }));
  } finally {
    await hasher.close();
  }
}

/** One seeder: its own Session (peer id, port) with the torrent over the source folder. */
async function startSeeder(meta: Metainfo, sourceDir: string, signal: AbortSignal): Promise<Seeder | undefined> {
  const session = new Session({ host: HOST, port: 0, dht: false, maxPeersPerIp: LOOPBACK_PEERS_PER_IP });
  let handle: TorrentHandle;
  try {
    handle = await session.add(meta, { path: sourceDir, signal });
    await handle.whenReady();
  } catch (err) {
    await session.close();
    if (signal.aborted) return undefined;
    throw err;
  }
  if (handle.state !== 'seeding') {
    const verified = handle.stats().verified;
    await session.close();
    throw new CliError(ExitCode.failed, `a demo seeder found its own sample data incomplete (${verified}/${meta.info.pieceCount} pieces)`);
  }
  return { session, handle };
}

/**
 * The leecher learns its peers from one announce, so it must not start before the tracker
 * lists every seeder; a seeder's first announce runs in the background once it is added.
 */
async function waitForSeeders(url: string, meta: Metainfo, want: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + ANNOUNCE_WAIT_MS;
  while (Date.now() < deadline && !signal.aborted) {
    const result = await scrape(url, [meta.infoHash], { timeoutMs: 2000, signal }).catch(() => undefined);
    if ((result?.get(meta.infoHashHex)?.complete ?? 0) >= want) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** undefined when equal; otherwise the first difference, in words. */
async function compareSample(source: string, copy: string, files: readonly SampleFile[], signal: AbortSignal): Promise<string | undefined> {
  const a = Buffer.alloc(CHUNK);
  const b = Buffer.alloc(CHUNK);
  for (const f of files) {
    const [fa, fb] = await Promise.all([open(join(source, f.path), 'r'), open(join(copy, f.path), 'r').catch(() => undefined)]);
    try {
      if (fb === undefined) return `${f.path} is missing`;
      const size = (await fb.stat()).size;
      if (size !== f.size) return `${f.path} has ${size} bytes, expected ${f.size}`;
      for (let pos = 0; pos < f.size; pos += CHUNK) {
        if (signal.aborted) return undefined;
        const n = Math.min(CHUNK, f.size - pos);
        await Promise.all([fa.read(a, 0, n, pos), fb.read(b, 0, n, pos)]);
        if (!a.subarray(0, n).equals(b.subarray(0, n))) return `${f.path} differs in bytes ${pos}–${pos + n - 1}`;
      }
    } finally {
      await Promise.all([fa.close(), fb?.close()]);
    }
  }
  return undefined;
}
