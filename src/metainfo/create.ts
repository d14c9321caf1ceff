/**
 * Torrent creation (BEP 3 v1, BEP 12 tiers, BEP 19 web seeds, BEP 27 private). Deterministic:
 * files are sorted by path bytes, no creation date is written unless given, so one input always
 * gives the same bytes. Data is read in large sequential chunks and hashed through a swappable
 * `PieceHasher` (the CLI passes a worker pool; the default hashes in process).
 */
import { createHash } from 'node:crypto';
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { encode, type Encodable } from '../bencode/index.js';
import { cleanTrackerUrl, cleanWebSeedUrl } from './announce.js';
import { MetainfoError, quote } from './errors.js';
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

/** Reads the files back to back and hashes each piece; pieces cross file boundaries (BEP 3). */
async function hashPieces(files: readonly InputFile[], total: number, pieceLength: number, opts: CreateOptions): Promise<Buffer> {
  const hasher = opts.hasher ?? sha1Hasher;
  const piecesPerBatch = Math.max(1, Math.floor(READ_BATCH / pieceLength));
  const batch = Buffer.alloc(Math.min(piecesPerBatch * pieceLength, Math.max(total, 1)));
  const digests: Uint8Array[] = [];
  let fill = 0;
  let done = 0;
  const flush = async (final: boolean): Promise<void> => {
    const whole = final ? Math.ceil(fill / pieceLength) : Math.floor(fill / pieceLength);
    const jobs: Promise<Uint8Array>[] = [];
    for (let p = 0; p < whole; p++) {
      jobs.push(hasher.hash(batch.subarray(p * pieceLength, Math.min((p + 1) * pieceLength, fill))));
    }
    digests.push(...(await Promise.all(jobs)));
    const used = Math.min(whole * pieceLength, fill);
    batch.copy(batch, 0, used, fill);
    fill -= used;
  };
  for (const file of files) {
    opts.signal?.throwIfAborted();
    const handle = await open(file.abs, 'r');
    try {
      let left = file.length;
      while (left > 0) {
        const { bytesRead } = await handle.read(batch, fill, Math.min(batch.length - fill, left), null);
        if (bytesRead === 0) throw new MetainfoError('create', `file ${quote(file.abs.toString())} shrank while it was read`);
        fill += bytesRead;
        left -= bytesRead;
        done += bytesRead;
        if (fill === batch.length) {
          await flush(false);
          opts.signal?.throwIfAborted();
          opts.onProgress?.(done, total);
        }
      }
    } finally {
      await handle.close();
    }
  }
  if (fill > 0) await flush(true);
  opts.onProgress?.(done, total);
  return Buffer.concat(digests.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength)));
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

  const pieceLength = opts.pieceLength ?? defaultPieceLength(total);
  if (!Number.isSafeInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new MetainfoError('create', `piece length ${pieceLength} must be a power of two from 16 KiB to 512 MiB`);
  }
  if (Math.ceil(total / pieceLength) > MAX_PIECES) {
    throw new MetainfoError('create', `piece length ${pieceLength} gives more than ${MAX_PIECES} pieces; choose a larger one`);
  }
  const tiers = (opts.trackers ?? []).map((t) => checkUrls(t, cleanTrackerUrl, 'tracker')).filter((t) => t.length > 0);
  const webSeeds = checkUrls(opts.webSeeds ?? [], cleanWebSeedUrl, 'web seed');
  const pieces = await hashPieces(files, total, pieceLength, opts);

  const name = basename(abs);
  const info: Record<string, Encodable | undefined> = {
    name,
    'piece length': pieceLength,
    pieces,
    private: opts.private === true ? 1 : undefined,
    source: opts.source,
  };
  if (st.isFile()) info['length'] = total;
  else info['files'] = files.map((f) => ({ length: f.length, path: f.rel }));
  const root: Record<string, Encodable | undefined> = {
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 1 || (tiers[0]?.length ?? 0) > 1 ? tiers : undefined,
    comment: opts.comment,
    'created by': opts.createdBy ?? 'Tessera',
    'creation date': opts.creationDate,
    info,
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
  };
  return encode(root);
}
