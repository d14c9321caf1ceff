/**
 * Real BitTorrent programs for interop tests (not a test file): a torrent of random data
 * made by mktorrent, and aria2c as a seeder or a leecher, with DHT, LSD and PEX off and
 * bound to 127.0.0.1. Every process goes through helpers/proc.ts, so it is stopped by PID.
 */
import { ARIA2_LOOPBACK_ARGS } from '../helpers/client-args.js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asDict, decode } from '../../src/bencode/index.js';
import { freePort } from '../helpers/ports.js';
import { run, startProc, type Proc } from '../helpers/proc.js';

export interface MadeTorrent {
  readonly torrentPath: string;
  readonly dataDir: string;
  readonly fileName: string;
  readonly data: Buffer;
  readonly infoHashHex: string;
}

let made = 0;

/**
 * `tiers`: one mktorrent `-a` per tier (comma-separated URLs within a tier). The info hash
 * does not depend on the trackers, so the same `data` made twice gives the same hash: make
 * it once to learn the hash (for opentracker's whitelist), then again with the real URLs.
 */
export async function makeTorrent(dir: string, tiers: readonly (readonly string[])[], data: Buffer = randomBytes(300_000)): Promise<MadeTorrent> {
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const fileName = 'payload.bin';
  await writeFile(join(dataDir, fileName), data);
  const torrentPath = join(dir, `payload-${++made}.torrent`);
  const announce = tiers.flatMap((t) => ['-a', t.join(',')]);
  await run('mktorrent', ['-d', '-l', '15', ...announce, '-o', torrentPath, join(dataDir, fileName)], 30_000);
  const info = asDict(asDict(decode(await readFile(torrentPath), { strict: false }))?.get('info'));
  if (info === undefined) throw new Error('mktorrent wrote no info dictionary');
  const raw = await readFile(torrentPath);
  const infoHashHex = createHash('sha1').update(raw.subarray(info.start, info.end)).digest('hex');
  return { torrentPath, dataDir, fileName, data, infoHashHex };
}

const ARIA2_COMMON = [...ARIA2_LOOPBACK_ARGS, '--bt-max-peers=0'];

/** aria2c seeding `t` from its data folder; resolves once it listens. */
export async function startAria2Seeder(t: MadeTorrent): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = startProc('aria2c-seed', 'aria2c', [
    ...ARIA2_COMMON,
    `--dir=${t.dataDir}`,
    '--seed-ratio=0.0',
    '--bt-seed-unverified=true',
    '--check-integrity=false',
    `--listen-port=${port}`,
    `--dht-listen-port=${await freePort()}`,
    t.torrentPath,
  ]);
  await proc.waitForLine(/listening on TCP port/i, 20_000);
  return { proc, port };
}

/** aria2c downloading `t` into `outDir`; it exits 0 once complete (--seed-time=0). */
export async function startAria2Leecher(t: MadeTorrent, outDir: string): Promise<Proc> {
  return startProc('aria2c-leech', 'aria2c', [
    ...ARIA2_COMMON,
    `--dir=${outDir}`,
    '--seed-time=0',
    `--listen-port=${await freePort()}`,
    `--dht-listen-port=${await freePort()}`,
    t.torrentPath,
  ]);
}
