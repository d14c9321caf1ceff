import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileTable } from '../../src/metainfo/file-table.js';
import type { FileEntry, InfoDict } from '../../src/metainfo/types.js';

/** Test torrents with deterministic content, and temp folders. Not a test file. */

export interface FileSpec {
  readonly name: string;
  readonly length: number;
  readonly pad?: boolean;
}

export interface TestTorrent {
  readonly info: InfoDict;
  /** All of piece space (pad ranges are zeros, as BEP 47 hashes them). */
  readonly space: Buffer;
  /** Each file's content (zeros for pads). */
  readonly contents: readonly Buffer[];
}

/** Deterministic pseudo-random bytes (xorshift), different for each seed. */
export function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function makeTorrent(specs: readonly FileSpec[], pieceLength: number, opts: { name?: string; seed?: number } = {}): TestTorrent {
  const name = opts.name ?? 'torrent';
  let offset = 0;
  const files: FileEntry[] = [];
  const contents: Buffer[] = [];
  specs.forEach((s, i) => {
    files.push({ path: s.name.split('/'), length: s.length, offset, pad: s.pad === true, attr: s.pad === true ? 'p' : '' });
    contents.push(s.pad === true ? Buffer.alloc(s.length) : bytes(s.length, (opts.seed ?? 7) * 1000 + i + 1));
    offset += s.length;
  });
  const space = Buffer.concat(contents);
  const pieceCount = Math.ceil(space.length / pieceLength);
  const pieces = Buffer.alloc(pieceCount * 20);
  for (let i = 0; i < pieceCount; i++) {
    createHash('sha1')
      .update(space.subarray(i * pieceLength, (i + 1) * pieceLength))
      .digest()
      .copy(pieces, i * 20);
  }
  const single = specs.length === 1 && specs[0]!.pad !== true;
  const info: InfoDict = {
    name: single ? specs[0]!.name : name,
    pieceLength,
    pieces,
    pieceCount,
    length: space.length,
    files,
    fileTable: FileTable.fromEntries(files),
    multiFile: !single,
    private: false,
  };
  return { info, space, contents };
}

/** The data of piece `index`. */
export function pieceOf(t: TestTorrent, index: number): Buffer {
  return t.space.subarray(index * t.info.pieceLength, Math.min(t.space.length, (index + 1) * t.info.pieceLength));
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-storage-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Where file `i` of the torrent lives below `root`. */
export function filePath(root: string, info: InfoDict, i: number): string {
  return info.multiFile ? path.join(root, info.name, ...info.files[i]!.path) : path.join(root, ...info.files[i]!.path);
}
