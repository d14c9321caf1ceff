/**
 * Torrent creation (BEP 3 v1, BEP 52 v2-only and hybrid, BEP 12 tiers, BEP 19 web seeds,
 * BEP 27 private). Deterministic: files are sorted by path bytes, no creation date is written
 * unless given, so one input always gives the same bytes. Data is read in large sequential
 * chunks; v1 pieces are hashed through a swappable `PieceHasher` (the CLI passes a worker pool;
 * the default hashes in process), v2 merkle leaves as the bytes stream past.
 */
import { createHash } from 'node:crypto';
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { encode, type Encodable } from '../bencode/index.js';
import { cleanTrackerUrl, cleanWebSeedUrl } from './announce.js';
import { MetainfoError, quote } from './errors.js';
import { fileLeaves, HASH_SIZE, LEAF_SIZE, LeafHasher, log2, nextPow2, rootOf } from './merkle.js';
import { MAX_PIECE_LENGTH, MAX_PIECES } from './torrent.js';

/**
 * SHA-1 of one piece. `data` is a view into a reused read buffer: an implementation may read it
 * until its promise settles, but must copy rather than transfer or keep it.
 */
export interface PieceHasher {
  hash(data: Uint8Array): Promise<Uint8Array>;
}

export interface CreateOptions {
  /** Tiers of announce URLs (BEP 12); the first URL also becomes `announce`. */
  trackers?: string[][];
  pieceLength?: number;
  private?: boolean;
  comment?: string;
  webSeeds?: string[];
  source?: string;
  createdBy?: string;
  /** Seconds since the epoch; omitted from the torrent unless given. */
  creationDate?: number;
  hasher?: PieceHasher;
  /**
   * `v1` (the default: every client reads it), `v2` (BEP 52 only: SHA-256 merkle trees, files
   * aligned to pieces) or `hybrid` (both halves, v1 with pad files, for both swarms).
   */
  version?: 'v1' | 'v2' | 'hybrid';
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_DEFAULT_PIECE_LENGTH = 16 * 1024 * 1024;
const TARGET_PIECES = 1500;
/** Bytes read per batch: large sequential reads, a bounded amount of memory. */
const READ_BATCH = 4 * 1024 * 1024;
const MAX_INPUT_FILES = 1_000_000;
const MAX_INPUT_DEPTH = 256;

export const sha1Hasher: PieceHasher = {
  hash: (data) => Promise.resolve(createHash('sha1').update(data).digest()),
};

/**
 * The power of two between 16 KiB and 16 MiB that gives about 1,500 pieces, as mainstream
 * creators do (mktorrent, transmission-create and libtorrent all aim for 1,000–2,000).
 */
export function defaultPieceLength(totalBytes: number): number {
  let size = MIN_PIECE_LENGTH;
  while (size < MAX_DEFAULT_PIECE_LENGTH && totalBytes / size > TARGET_PIECES) size *= 2;
  return size;
}

interface InputFile {
  /** Absolute path as bytes, so names that are not UTF-8 survive. */
  readonly abs: Buffer;
  /** Components below the input folder, as raw bytes. */
  readonly rel: Buffer[];
  readonly length: number;
}

function comparePaths(a: InputFile, b: InputFile): number {
  const n = Math.min(a.rel.length, b.rel.length);
  for (let i = 0; i < n; i++) {
    const c = Buffer.compare(a.rel[i]!, b.rel[i]!);
    if (c !== 0) return c;
  }
  return a.rel.length - b.rel.length;
}

/** Regular files under `root`, iteratively; symlinks and special files are skipped. */
async function walk(root: Buffer, signal: AbortSignal | undefined): Promise<InputFile[]> {
  const files: InputFile[] = [];
  const stack: { abs: Buffer; rel: Buffer[] }[] = [{ abs: root, rel: [] }];
  const slash = Buffer.from('/');
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const dir = stack.pop()!;
    for (const name of await readdir(dir.abs, { encoding: 'buffer' })) {
      const abs = Buffer.concat([dir.abs, slash, name]);
      const rel = [...dir.rel, name];
      const st = await lstat(abs);
      if (st.isDirectory()) {
        if (rel.length >= MAX_INPUT_DEPTH) throw new MetainfoError('create', `input nests deeper than ${MAX_INPUT_DEPTH} folders`);
        stack.push({ abs, rel });
      } else if (st.isFile()) {
        if (files.length >= MAX_INPUT_FILES) throw new MetainfoError('create', `input has more than ${MAX_INPUT_FILES} files`);
        files.push({ abs, rel, length: st.size });
      }
    }
  }
  return files.sort(comparePaths);
}

/** A stretch of piece space: a file's bytes, or zeros of a pad file (hybrids). */
type Part = { readonly file: InputFile; readonly index: number } | { readonly pad: number };

interface Hashed {
  /** v1 SHA-1s, when asked for. */
  readonly pieces: Buffer | undefined;
  /** v2 leaf hashes per input file, when asked for. */
  readonly leaves: Buffer[] | undefined;
}

/**
 * Reads the parts back to back and hashes each v1 piece (pieces cross file boundaries, BEP 3)
 * and/or each file's 16 KiB v2 leaves.
 */
async function hashParts(parts: readonly Part[], fileCount: number, total: number, pieceLength: number, opts: CreateOptions, v1: boolean, v2: boolean): Promise<Hashed> {
  const hasher = opts.hasher ?? sha1Hasher;
  const piecesPerBatch = Math.max(1, Math.floor(READ_BATCH / pieceLength));
  const batch = Buffer.alloc(Math.min(piecesPerBatch * pieceLength, Math.max(total, 1)));
  const digests: Uint8Array[] = [];
  const leafHashers = v2 ? Array.from({ length: fileCount }, () => new LeafHasher()) : undefined;
  let fill = 0;
  let done = 0;
  const flush = async (final: boolean): Promise<void> => {
    const whole = final ? Math.ceil(fill / pieceLength) : Math.floor(fill / pieceLength);
    const jobs: Promise<Uint8Array>[] = [];
    for (let p = 0; p < whole && v1; p++) {
      jobs.push(hasher.hash(batch.subarray(p * pieceLength, Math.min((p + 1) * pieceLength, fill))));
    }
    digests.push(...(await Promise.all(jobs)));
    const used = Math.min(whole * pieceLength, fill);
    batch.copy(batch, 0, used, fill);
    fill -= used;
  };
  const advance = async (n: number): Promise<void> => {
    fill += n;
    done += n;
    if (fill === batch.length) {
      await flush(false);
      opts.signal?.throwIfAborted();
      opts.onProgress?.(done, total);
    }
  };
  for (const part of parts) {
    opts.signal?.throwIfAborted();
    if ('pad' in part) {
      for (let left = part.pad; left > 0; ) {
        const n = Math.min(batch.length - fill, left);
        batch.fill(0, fill, fill + n);
        left -= n;
        await advance(n);
      }
      continue;
    }
    const { file, index } = part;
    const handle = await open(file.abs, 'r');
    try {
      let left = file.length;
      while (left > 0) {
        const { bytesRead } = await handle.read(batch, fill, Math.min(batch.length - fill, left), null);
        if (bytesRead === 0) throw new MetainfoError('create', `file ${quote(file.abs.toString())} shrank while it was read`);
        leafHashers?.[index]!.update(batch.subarray(fill, fill + bytesRead));
        left -= bytesRead;
        await advance(bytesRead);
      }
    } finally {
      await handle.close();
    }
  }
  if (fill > 0) await flush(true);
  opts.onProgress?.(done, total);
  return {
    pieces: v1 ? Buffer.concat(digests.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))) : undefined,
    leaves: leafHashers?.map((h) => h.leaves()),
  };
}

/**
 * Piece space of a v2 or hybrid torrent: each non-empty file padded to a piece boundary, the
 * last one too (as libtorrent does) unless the torrent is a single file, whose v1 half has no
 * `files` list to hold a pad.
 */
function alignedParts(files: readonly InputFile[], pieceLength: number, single: boolean): { parts: Part[]; total: number } {
  const parts: Part[] = [];
  let total = 0;
  files.forEach((file, index) => {
    parts.push({ file, index });
    total += file.length;
    const tail = total % pieceLength;
    if (tail !== 0 && !single) {
      parts.push({ pad: pieceLength - tail });
      total += pieceLength - tail;
    }
  });
  return { parts, total };
}

/** A file's pieces root and, when it spans several pieces, its piece layer, from its leaves. */
function fileHashes(leaves: Buffer, length: number, pieceLength: number): { root: Buffer; layer: Buffer | undefined } {
  if (length <= pieceLength) return { root: rootOf(leaves, fileLeaves(length)), layer: undefined };
  const perPiece = pieceLength / LEAF_SIZE;
  const count = Math.ceil(length / pieceLength);
  const layer = Buffer.allocUnsafe(count * HASH_SIZE);
  for (let p = 0; p < count; p++) {
    rootOf(leaves.subarray(p * perPiece * HASH_SIZE, Math.min(leaves.length, (p + 1) * perPiece * HASH_SIZE)), perPiece).copy(layer, p * HASH_SIZE);
  }
  return { root: rootOf(layer, nextPow2(count), log2(perPiece)), layer };
}

/** The BEP 52 `file tree` (raw-byte keys) and `piece layers` of the input files. */
function v2Dicts(
  files: readonly InputFile[],
  leaves: readonly Buffer[],
  singleName: Buffer | undefined,
  pieceLength: number,
): { tree: Map<string, Encodable>; layers: Map<string, Encodable> } {
  const tree = new Map<string, Encodable>();
  const layers = new Map<string, Encodable>();
  files.forEach((f, i) => {
    const components = singleName === undefined ? f.rel : [singleName];
    let node = tree;
    for (const c of components) {
      const key = c.toString('latin1');
      let child = node.get(key) as Map<string, Encodable> | undefined;
      if (child === undefined) {
        child = new Map();
        node.set(key, child);
      }
      node = child;
    }
    if (f.length === 0) {
      node.set('', { length: 0 });
      return;
    }
    const { root, layer } = fileHashes(leaves[i]!, f.length, pieceLength);
    node.set('', { length: f.length, 'pieces root': root });
    if (layer !== undefined) layers.set(root.toString('latin1'), layer);
  });
  return { tree, layers };
}

function checkUrls(urls: readonly string[], clean: (s: string) => string | undefined, what: string): string[] {
  const out: string[] = [];
  for (const u of urls) {
    const url = clean(u);
    if (url === undefined) throw new MetainfoError('create', `invalid ${what} URL ${quote(u)}`);
    out.push(url);
  }
  return out;
}

/** The v1 `files` list of the parts; pads are BEP 47 pad files named as libtorrent names them. */
function v1Files(parts: readonly Part[]): Encodable[] {
  return parts.map((p) => ('pad' in p ? { attr: 'p', length: p.pad, path: ['.pad', String(p.pad)] } : { length: p.file.length, path: p.file.rel }));
}

/** Build a .torrent for a file or folder and return its bytes. */
export async function createTorrent(input: string, opts: CreateOptions = {}): Promise<Buffer> {
  const abs = resolve(input);
  let st;
  try {
    st = await lstat(abs);
  } catch (err) {
    throw new MetainfoError('create', `cannot read ${quote(input)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  const absBytes = Buffer.from(abs);
  let files: InputFile[];
  if (st.isFile()) files = [{ abs: absBytes, rel: [], length: st.size }];
  else if (st.isDirectory()) files = await walk(absBytes, opts.signal);
  else throw new MetainfoError('create', `${quote(input)} is not a regular file or a folder`);
  const total = files.reduce((sum, f) => sum + f.length, 0);
  if (files.length === 0 || total === 0) throw new MetainfoError('create', `${quote(input)} holds no data to share`);

  const version = opts.version ?? 'v1';
  const pieceLength = opts.pieceLength ?? defaultPieceLength(total);
  if (!Number.isSafeInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new MetainfoError('create', `piece length ${pieceLength} must be a power of two from 16 KiB to 512 MiB`);
  }
  const { parts, total: spaceLength } =
    version === 'v1' ? { parts: files.map((file, index): Part => ({ file, index })), total } : alignedParts(files, pieceLength, st.isFile());
  if (Math.ceil(spaceLength / pieceLength) > MAX_PIECES) {
    throw new MetainfoError('create', `piece length ${pieceLength} gives more than ${MAX_PIECES} pieces; choose a larger one`);
  }
  const tiers = (opts.trackers ?? []).map((t) => checkUrls(t, cleanTrackerUrl, 'tracker')).filter((t) => t.length > 0);
  const webSeeds = checkUrls(opts.webSeeds ?? [], cleanWebSeedUrl, 'web seed');
  const hashed = await hashParts(parts, files.length, spaceLength, pieceLength, opts, version !== 'v2', version !== 'v1');

  const name = basename(abs);
  const info: Record<string, Encodable | undefined> = {
    name,
    'piece length': pieceLength,
    pieces: hashed.pieces,
    private: opts.private === true ? 1 : undefined,
    source: opts.source,
  };
  let layers: Map<string, Encodable> | undefined;
  if (hashed.leaves !== undefined) {
    const v2 = v2Dicts(files, hashed.leaves, st.isFile() ? Buffer.from(name) : undefined, pieceLength);
    info['file tree'] = v2.tree;
    info['meta version'] = 2;
    layers = v2.layers;
  }
  if (version !== 'v2') {
    // A hybrid's v1 single file needs no pad: it starts at 0 and nothing follows it.
    if (st.isFile()) info['length'] = total;
    else info['files'] = v1Files(parts);
  }
  const root: Record<string, Encodable | undefined> = {
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 1 || (tiers[0]?.length ?? 0) > 1 ? tiers : undefined,
    comment: opts.comment,
    'created by': opts.createdBy ?? 'Tessera',
    'creation date': opts.creationDate,
    info,
    'piece layers': layers !== undefined && layers.size > 0 ? layers : undefined,
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
  };
  return encode(root);
}
