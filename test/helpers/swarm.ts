/**
 * The common shape of an interop test: a temp folder with deterministic content, torrents
 * made by mktorrent, an opentracker that whitelists them (HTTP or UDP announce URL), and a
 * `tessera download` run whose result is compared byte for byte with the source.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareTrees, writeRandomFile, writeRandomTree } from './data.js';
import { startOpentracker, type Opentracker } from './opentracker.js';
import { parseSummary, startDownload, type Summary } from './tessera.js';
import { makeTorrent, writeWithAnnounce, type TorrentMeta } from './torrents.js';

export interface SwarmOptions {
  /** Prefix of the temp folder's name. */
  readonly label: string;
  /** Size of the single-file torrent's file; no single-file torrent when absent. */
  readonly singleSize?: number;
  /** Files in the multi-file torrent's tree (≥ 12); no multi-file torrent when absent. */
  readonly treeFiles?: number;
  /** log2 of the piece length; default 18 (256 KiB). */
  readonly pieceLengthLog2?: number;
  /** Which announce URL the torrents carry; 'none' starts no tracker. */
  readonly tracker: 'http' | 'udp' | 'none';
}

export interface Swarm {
  readonly root: string;
  /** Holds the content: `<dataDir>/<torrent name>`. */
  readonly dataDir: string;
  readonly single: TorrentMeta | undefined;
  readonly multi: TorrentMeta | undefined;
  readonly tracker: Opentracker | undefined;
  /** A fresh, empty download folder. */
  newOutDir(name: string): Promise<string>;
  /** Stop the tracker and remove the temp folder. */
  dispose(): Promise<void>;
}

export async function createSwarm(options: SwarmOptions): Promise<Swarm> {
  const root = await mkdtemp(join(tmpdir(), `tessera-${options.label}-`));
  let tracker: Opentracker | undefined;
  const dispose = async (): Promise<void> => {
    await tracker?.stop();
    await rm(root, { recursive: true, force: true });
  };
  try {
    const dataDir = join(root, 'data');
    const pieceLengthLog2 = options.pieceLengthLog2 ?? 18;
    const made: TorrentMeta[] = [];
    if (options.singleSize !== undefined) {
      await writeRandomFile(join(dataDir, 'single.bin'), options.singleSize, options.label);
      made.push(await makeTorrent({ source: join(dataDir, 'single.bin'), out: join(root, 'single-raw.torrent'), pieceLengthLog2 }));
    }
    if (options.treeFiles !== undefined) {
      await writeRandomTree(join(dataDir, 'tree'), { files: options.treeFiles });
      made.push(await makeTorrent({ source: join(dataDir, 'tree'), out: join(root, 'tree-raw.torrent'), pieceLengthLog2 }));
    }
    let final = made;
    if (options.tracker !== 'none') {
      tracker = await startOpentracker({ infoHashesHex: made.map((m) => m.infoHashHex) });
      const url = options.tracker === 'http' ? tracker.httpUrl : tracker.udpUrl;
      final = await Promise.all(made.map((m) => writeWithAnnounce(m, url, m.torrentPath.replace('-raw.torrent', '.torrent'))));
    }
    let outCount = 0;
    return {
      root,
      dataDir,
      single: final.find((m) => m.name === 'single.bin'),
      multi: final.find((m) => m.name === 'tree'),
      tracker,
      newOutDir: async (name: string) => {
        const dir = join(root, 'out', `${++outCount}-${name}`);
        await mkdir(dir, { recursive: true });
        return dir;
      },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * Run `tessera download` to its end (bounded by `timeoutMs`), assert exit code 0 and that
 * `<outDir>/<name>` equals the source byte for byte; returns the parsed summary line.
 */
export async function downloadAndVerify(
  swarm: Swarm,
  meta: TorrentMeta,
  outDir: string,
  timeoutMs: number,
  peers: readonly string[] = [],
  args: readonly string[] = [],
): Promise<Summary> {
  const proc = await startDownload({ torrent: meta.torrentPath, outDir, peers, args });
  try {
    const exit = await proc.waitForExit(timeoutMs);
    assert.equal(exit.code, 0, `tessera download of ${meta.name} must exit 0 (got code ${exit.code}, signal ${exit.signal})\n${proc.tail()}`);
  } finally {
    await proc.stop();
  }
  await compareTrees(join(swarm.dataDir, meta.name), join(outDir, meta.name));
  return parseSummary(proc.stdout);
}

/** The non-undefined value, or a clear failure naming what is missing. */
export function required<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} is missing from the test setup`);
  return value;
}
