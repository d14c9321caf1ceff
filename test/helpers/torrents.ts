/**
 * Torrents for interop tests: made by mktorrent (a real, independent tool), read back with
 * the test-only bencode reader, with helpers to set the announce URL after the tracker has
 * started, read content by torrent offset, and check which pieces on disk are valid.
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseTorrent } from '../../src/metainfo/index.js';
import { asBytes, asDict, asList, asNumber, bencodeString, decode, rewriteTopLevel } from './bencode-lite.js';
import { run } from './proc.js';

export interface TorrentFile {
  /** Path inside the torrent's folder; '' for a single-file torrent. */
  readonly path: string;
  readonly length: number;
  /** Offset of the file's first byte in the torrent's byte stream. */
  readonly offset: number;
}

export interface TorrentMeta {
  readonly torrentPath: string;
  readonly name: string;
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  readonly pieceLength: number;
  readonly pieceHashes: readonly Buffer[];
  readonly totalLength: number;
  readonly files: readonly TorrentFile[];
}

/**
 * The fields the seeder and lying-peer helpers use, for a torrent the test-only reader cannot
 * read (v2, hybrid), parsed by Tessera: the swarm hash, the piece count (the hashes themselves
 * are not used) and the files in piece space, pad files included (absent on disk, so they read
 * as zeros).
 */
export async function parsedTorrentMeta(torrentPath: string): Promise<TorrentMeta> {
  const meta = parseTorrent(await readFile(torrentPath));
  return {
    torrentPath,
    name: meta.info.name,
    infoHash: Buffer.from(meta.infoHash),
    infoHashHex: meta.infoHashHex,
    pieceLength: meta.info.pieceLength,
    pieceHashes: Array.from({ length: meta.info.pieceCount }, () => Buffer.alloc(0)),
    totalLength: meta.info.length,
    files: meta.info.files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset })),
  };
}

export interface MakeTorrentOptions {
  /** File or folder to share; its base name becomes the torrent's name. */
  readonly source: string;
  /** Where to write the .torrent. */
  readonly out: string;
  /** log2 of the piece length (mktorrent's `-l`), e.g. 18 for 256 KiB. */
  readonly pieceLengthLog2: number;
  /** Announce URL; mktorrent needs one, `setAnnounce` can change it later (the info hash stays). */
  readonly announce?: string;
  /** BEP 19 web seeds written to `url-list` (mktorrent's `-w`). */
  readonly webSeeds?: readonly string[];
}

/** Make a torrent with mktorrent and read it back. */
export async function makeTorrent(options: MakeTorrentOptions): Promise<TorrentMeta> {
  const announce = options.announce ?? 'http://127.0.0.1:9/announce';
  const webSeeds = (options.webSeeds ?? []).flatMap((w) => ['-w', w]);
  await run('mktorrent', ['-d', '-l', String(options.pieceLengthLog2), '-a', announce, ...webSeeds, '-o', options.out, basename(options.source)], 120_000, {
    cwd: dirname(options.source),
  });
  return readTorrent(options.out);
}

/** Parse a .torrent (v1) into the fields the tests need. */
export async function readTorrent(torrentPath: string): Promise<TorrentMeta> {
  const raw = await readFile(torrentPath);
  const top = asDict(decode(raw), 'torrent');
  const infoEntry = top.get('info');
  if (infoEntry === undefined) throw new Error(`${torrentPath}: no info dictionary`);
  const info = asDict(infoEntry.value, 'info');
  const infoHash = createHash('sha1').update(raw.subarray(infoEntry.start, infoEntry.end)).digest();
  const pieces = asBytes(info.get('pieces')?.value, 'pieces');
  const pieceHashes: Buffer[] = [];
  for (let i = 0; i < pieces.length; i += 20) pieceHashes.push(pieces.subarray(i, i + 20));
  const files: TorrentFile[] = [];
  let offset = 0;
  const list = info.get('files');
  if (list === undefined) {
    const length = asNumber(info.get('length')?.value, 'length');
    files.push({ path: '', length, offset });
    offset += length;
  } else {
    for (const item of asList(list.value, 'files')) {
      const f = asDict(item, 'file');
      const length = asNumber(f.get('length')?.value, 'file length');
      const parts = asList(f.get('path')?.value, 'file path').map((p) => asBytes(p, 'path part').toString('utf8'));
      files.push({ path: join(...parts), length, offset });
      offset += length;
    }
  }
  return {
    torrentPath,
    name: asBytes(info.get('name')?.value, 'name').toString('utf8'),
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    pieceLength: asNumber(info.get('piece length')?.value, 'piece length'),
    pieceHashes,
    totalLength: offset,
    files,
  };
}

/**
 * Write a copy of a torrent whose only tracker is `url` (the info dictionary, hence the info
 * hash, is unchanged).
 */
export async function writeWithAnnounce(meta: TorrentMeta, url: string, out: string): Promise<TorrentMeta> {
  const raw = await readFile(meta.torrentPath);
  const replaced = rewriteTopLevel(raw, new Map([['announce', bencodeString(url)], ['announce-list', null]]));
  await writeFile(out, replaced);
  const copy = await readTorrent(out);
  if (!copy.infoHash.equals(meta.infoHash)) throw new Error('writeWithAnnounce changed the info hash');
  return copy;
}

/** Byte length of piece `index`. */
export function pieceSize(meta: TorrentMeta, index: number): number {
  return Math.min(meta.pieceLength, meta.totalLength - index * meta.pieceLength);
}

/**
 * Reads the torrent's byte stream from content on disk. `root` is the file itself for a
 * single-file torrent, or the torrent's folder. Missing or short files read as zeros.
 */
export class ContentReader {
  private readonly handles = new Map<string, Promise<FileHandle | null>>();

  constructor(
    private readonly meta: TorrentMeta,
    private readonly root: string,
  ) {}

  private handle(f: TorrentFile): Promise<FileHandle | null> {
    let h = this.handles.get(f.path);
    if (h === undefined) {
      h = open(f.path === '' ? this.root : join(this.root, f.path), 'r').catch(() => null);
      this.handles.set(f.path, h);
    }
    return h;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    for (const f of this.meta.files) {
      const from = Math.max(offset, f.offset);
      const to = Math.min(offset + length, f.offset + f.length);
      if (from >= to) continue;
      const h = await this.handle(f);
      if (h !== null) await h.read(out, from - offset, to - from, from - f.offset);
    }
    return out;
  }

  async close(): Promise<void> {
    const all = await Promise.all(this.handles.values());
    this.handles.clear();
    await Promise.all(all.map((h) => h?.close()));
  }
}

/** Which pieces of the content under `root` (see ContentReader) match their hashes. */
export async function validPieces(meta: TorrentMeta, root: string): Promise<boolean[]> {
  try {
    await stat(root);
  } catch {
    return meta.pieceHashes.map(() => false);
  }
  const reader = new ContentReader(meta, root);
  try {
    const out: boolean[] = [];
    for (let i = 0; i < meta.pieceHashes.length; i++) {
      const data = await reader.read(i * meta.pieceLength, pieceSize(meta, i));
      out.push(createHash('sha1').update(data).digest().equals(meta.pieceHashes[i] as Buffer));
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** Number of valid pieces on disk and the bytes they hold. */
export async function verifiedSummary(meta: TorrentMeta, root: string): Promise<{ pieces: number; bytes: number }> {
  const valid = await validPieces(meta, root);
  let pieces = 0;
  let bytes = 0;
  valid.forEach((ok, i) => {
    if (ok) {
      pieces++;
      bytes += pieceSize(meta, i);
    }
  });
  return { pieces, bytes };
}
