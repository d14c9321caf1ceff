import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { constants as FS, fdatasync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { InfoDict } from '../metainfo/types.js';
import { Bitfield } from '../util/bitfield.js';
import { toHex } from '../util/bytes.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { FileLayout } from './layout.js';
import type { PieceGeometry } from './geometry.js';
import { decodeResume, encodeResume, recordLength, RESUME_VERSION, type FileStamp, type ResumeRecord } from './resume-codec.js';
import { closeFd, errCode, openSafe, resolveInside, toStorageError } from './safe-fs.js';

/**
 * Resume records: where they live, how they are written so that a crash never leaves a
 * wrong one, and how a record is matched against the files found on disk at start.
 *
 * Placement: one file per (info hash, real output path) in a state folder, by default
 * `$XDG_STATE_HOME/tessera/resume/` (`~/.local/state/tessera/resume/`). Not beside the data:
 * the output folder then holds exactly the torrent's files (nothing extra is seeded, listed
 * or copied along), a read-only or shared data folder still resumes, and deleting the data
 * cannot leave a stray record there. A daemon passes its own folder; tests a temporary one.
 *
 * Data first, then the record: a piece enters the record as verified only after its write
 * returned and its files were `fdatasync`ed, and the record replaces the old one by rename
 * after its own fsync. A crash loses at most the pieces verified since the last record (a
 * few seconds), and a record never lists a piece as verified whose bytes may not be on disk.
 *
 * The last record, at close, does not wait for the data: syncing what the last seconds wrote
 * took over a second per GiB at the end of every download, after its last piece. It lists
 * those pieces as pending instead, and the next start reads and hashes them before trusting
 * them, so a crash before the kernel wrote them back costs a recheck of them, never a wrong
 * piece.
 */

/** A record of newly verified pieces is written this often while the download runs. */
export const DEFAULT_RESUME_INTERVAL_MS = 3000;
/** Concurrent `fdatasync`/`lstat` calls. */
const FS_CONCURRENCY = 16;

export interface ResumeOptions {
  /** Folder of resume records (created on first write, mode 0700). */
  readonly dir: string;
  readonly infoHash: Uint8Array;
  /** Period of the batched record while pieces arrive (default 3 s). */
  readonly intervalMs?: number;
  readonly clock?: Clock;
  /** A record could not be written; the download goes on, the next start rechecks more. */
  readonly onError?: (err: Error) => void;
}

/** `$XDG_STATE_HOME/tessera/resume`, else `~/.local/state/tessera/resume` (XDG: relative values are ignored). */
export function defaultResumeDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME;
  const base = state !== undefined && path.isAbsolute(state) ? state : path.join(homedir(), '.local', 'state');
  return path.join(base, 'tessera', 'resume');
}

/** The record's file: the info hash and a digest of the real output path name it. */
export function resumeFilePath(dir: string, infoHash: Uint8Array, realRoot: string): string {
  const where = createHash('sha1').update(realRoot).digest('hex').slice(0, 16);
  return path.join(dir, `${toHex(infoHash)}-${where}.resume`);
}

export interface RecordMatch {
  /** Pieces taken from the record without reading them. */
  readonly trusted: Bitfield;
  /** Pieces to verify by reading: every piece touching a file that changed, and the pending ones. */
  readonly toCheck: Bitfield;
}

/**
 * Compares a record with the files now on disk. Undefined when the record is not about
 * this torrent in this folder. A data file whose presence, size or mtime differs has all
 * its pieces rechecked, and so has every pending piece; a verified piece is trusted only if
 * every file it touches is unchanged and long enough to hold it.
 */
export function matchRecord(
  rec: ResumeRecord,
  expect: { infoHash: Uint8Array; root: string; geometry: PieceGeometry; layout: FileLayout; files: InfoDict['files'] },
  now: readonly FileStamp[],
): RecordMatch | undefined {
  const { geometry, layout, files } = expect;
  const n = geometry.pieceCount;
  if (rec.root !== expect.root || !Buffer.from(rec.infoHash).equals(expect.infoHash)) return undefined;
  if (rec.verified.size !== n || rec.files.length !== files.length || now.length !== files.length) return undefined;
  const toCheck = new Bitfield(n);
  const changed = files.map((f, i) => !f.pad && f.length > 0 && !sameStamp(rec.files[i]!, now[i]!));
  files.forEach((f, i) => {
    if (!changed[i]) return;
    const last = Math.floor((f.offset + f.length - 1) / geometry.pieceLength);
    for (let p = Math.floor(f.offset / geometry.pieceLength); p <= last; p++) toCheck.set(p);
  });
  const trusted = new Bitfield(n);
  for (let p = 0; p < n; p++) {
    if (rec.pending.has(p)) toCheck.set(p);
    if (!rec.verified.has(p) || toCheck.has(p)) continue;
    const extents = layout.extents(geometry.pieceOffset(p), geometry.pieceSize(p));
    const onDisk = extents.every((e) => e.pad || (now[e.fileIndex]!.present && now[e.fileIndex]!.size >= e.fileOffset + e.length));
    if (onDisk) trusted.set(p);
    else toCheck.set(p);
  }
  return { trusted, toCheck };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.present === b.present && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/** The stamp of one file below the output folder; anything but a regular file counts as absent. */
async function stampOf(realRoot: string, components: readonly string[]): Promise<FileStamp> {
  const st = await fs.lstat(resolveInside(realRoot, components), { bigint: true }).catch((err: unknown) => {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return undefined;
    throw toStorageError(err, components.join('/'));
  });
  if (st === undefined || !st.isFile()) return { present: false, size: 0, mtimeNs: 0n };
  return { present: true, size: Number(st.size), mtimeNs: st.mtimeNs };
}

async function forEachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += FS_CONCURRENCY) await Promise.all(items.slice(i, i + FS_CONCURRENCY).map(fn));
}

/** Writes `bytes` to `file` atomically: a temporary file, fsync, rename, fsync of the folder. */
export async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // One fixed name: a temporary file left by a crash is reused, not accumulated. Two processes
  // racing on it can only produce a record whose checksum fails, which reads as no record.
  const tmp = `${file}.tmp`;
  const fh = await fs.open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_TRUNC | FS.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  const dh = await fs.open(dir, FS.O_RDONLY | FS.O_DIRECTORY);
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * The resume record of one open torrent: loads it at start, then collects verified
 * pieces and the files they touched, and every `intervalMs` (and at close) makes those
 * files durable and replaces the record. Flushes never overlap.
 */
export class ResumeJournal {
  readonly file: string;
  private readonly opts: ResumeOptions;
  private readonly root: string;
  private readonly info: InfoDict;
  private readonly geometry: PieceGeometry;
  private readonly layout: FileLayout;
  private readonly components: readonly (readonly string[])[];
  private verified: Bitfield | undefined;
  /** The verified pieces whose files were synced: what a record may list as verified. */
  private synced: Bitfield | undefined;
  private stamps: FileStamp[] = [];
  private touched = new Set<number>();
  private dirty = false;
  private timer: TimerHandle | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    opts: ResumeOptions,
    torrent: { root: string; info: InfoDict; geometry: PieceGeometry; layout: FileLayout; components: readonly (readonly string[])[] },
  ) {
    this.opts = opts;
    this.root = torrent.root;
    this.info = torrent.info;
    this.geometry = torrent.geometry;
    this.layout = torrent.layout;
    this.components = torrent.components;
    this.file = resumeFilePath(opts.dir, opts.infoHash, torrent.root);
  }

  /** Stamps of every file now; taken before any data is read, so a later change shows. */
  async stampAll(): Promise<FileStamp[]> {
    const out: FileStamp[] = this.info.files.map(() => ({ present: false, size: 0, mtimeNs: 0n }));
    const data = this.info.files.flatMap((f, i) => (f.pad ? [] : [i]));
    await forEachLimited(data, async (i) => void (out[i] = await stampOf(this.root, this.components[i]!)));
    return out;
  }

  /** The stored record, or undefined when it is absent, damaged or about something else. */
  async load(): Promise<ResumeRecord | undefined> {
    const sizes = [1, RESUME_VERSION].map((v) => recordLength(this.geometry.pieceCount, this.info.files.length, Buffer.byteLength(this.root), v));
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(this.file, FS.O_RDONLY | FS.O_NOFOLLOW);
    } catch {
      return undefined;
    }
    try {
      // The size a record of this torrent must have bounds the read: a bigger file is not one.
      const want = (await fh.stat()).size;
      if (!sizes.includes(want)) return undefined;
      const bytes = Buffer.alloc(want);
      const { bytesRead } = await fh.read(bytes, 0, want, 0);
      return bytesRead === want ? decodeResume(bytes) : undefined;
    } catch {
      return undefined;
    } finally {
      await fh.close();
    }
  }

  /** Compares a loaded record with `stamps` (from `stampAll`). */
  match(rec: ResumeRecord, stamps: readonly FileStamp[]): RecordMatch | undefined {
    return matchRecord(rec, { infoHash: this.opts.infoHash, root: this.root, geometry: this.geometry, layout: this.layout, files: this.info.files }, stamps);
  }

  /**
   * Starts journaling from what the check found. `upToDate` says the stored record already
   * says exactly this (nothing was read), so nothing needs writing until a piece arrives.
   * `pending`: verified pieces not known durable (pending in the record, and read again from
   * what may still be the page cache): their files are synced before a record lists them.
   */
  begin(verified: Bitfield, stamps: FileStamp[], upToDate: boolean, pending?: Bitfield): void {
    this.verified = new Bitfield(verified.size, verified.bytes);
    this.synced = new Bitfield(verified.size, verified.bytes);
    this.stamps = stamps;
    this.dirty = !upToDate;
    for (let p = 0; pending !== undefined && p < pending.size; p++) {
      if (!pending.has(p) || !verified.has(p)) continue;
      this.synced.clear(p);
      this.filesWritten(p);
    }
    const ms = this.opts.intervalMs ?? DEFAULT_RESUME_INTERVAL_MS;
    this.timer = (this.opts.clock ?? systemClock).setInterval(() => void this.flush(), ms);
  }

  /** A piece was written (the worker's write returned) and verified. */
  pieceWritten(index: number): void {
    if (this.verified === undefined || this.closed) return;
    this.verified.set(index);
    this.filesWritten(index);
  }

  /**
   * Bytes of piece `index` were written, not yet verified: its files get a fresh stamp in the
   * next record, so that the write alone does not make them look changed at the next start.
   */
  filesWritten(index: number): void {
    if (this.verified === undefined || this.closed) return;
    for (const e of this.layout.extents(this.geometry.pieceOffset(index), this.geometry.pieceSize(index))) {
      if (!e.pad) this.touched.add(e.fileIndex);
    }
    this.dirty = true;
  }

  /** Makes the pieces verified so far durable, then records them. Resolves when written (or failed). */
  flush(): Promise<void> {
    return this.enqueue(true);
  }

  /**
   * Stops the timer and writes the last record, without waiting for the data: the pieces
   * verified since the last flush are listed as pending. Call once no write is in flight.
   */
  async close(): Promise<void> {
    this.timer?.cancel();
    await this.enqueue(false);
    this.closed = true;
  }

  private enqueue(sync: boolean): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow(sync));
    return this.flushing;
  }

  private async flushNow(sync: boolean): Promise<void> {
    if (!this.dirty || this.closed || this.verified === undefined || this.synced === undefined) return;
    // Snapshot first: pieces verified from here on wait for the next record.
    const verified = new Bitfield(this.verified.size, this.verified.bytes);
    const touched = [...this.touched];
    this.touched = new Set();
    this.dirty = false;
    try {
      // Stamps right after the snapshot, before the (possibly slow) fdatasync: a piece written
      // after them makes its file look changed, so a crash loses it only until the recheck.
      const fresh = await Promise.all(touched.map((i) => stampOf(this.root, this.components[i]!)));
      if (sync) await forEachLimited(touched, (i) => this.syncData(i));
      touched.forEach((i, k) => (this.stamps[i] = fresh[k]!));
      const durable = sync ? verified : this.synced;
      const pending = new Bitfield(verified.size, verified.bytes.map((b, i) => b & ~durable.bytes[i]!));
      const bytes = encodeResume({ infoHash: this.opts.infoHash, root: this.root, files: this.stamps, verified: durable, pending });
      await writeAtomically(this.file, bytes);
      if (sync) this.synced = verified;
    } catch (err) {
      for (const i of touched) this.touched.add(i);
      this.dirty = true;
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async syncData(fileIndex: number): Promise<void> {
    const fd = await openSafe(this.root, this.components[fileIndex]!, 'read');
    if (fd === undefined) return;
    try {
      await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(toStorageError(err, this.components[fileIndex]!.join('/'))))));
    } finally {
      await closeFd(fd);
    }
  }
}
