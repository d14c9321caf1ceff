import fs from 'node:fs/promises';
import type { InfoDict } from '../metainfo/types.js';
import { Bitfield } from '../util/bitfield.js';
import { AsyncFiles } from './async-files.js';
import type { PieceBufferPool } from './buffer-pool.js';
import { StorageError } from './errors.js';
import { PartMap, defaultPartName } from './part-file.js';
import { PooledStore } from './pooled-store.js';
import { checkExistingPath, closeFd, fileComponents, makeDirectory, openSafe, resolveInside, toStorageError } from './safe-fs.js';
import { ResumeJournal, type ResumeOptions } from './resume.js';
import { DEFAULT_WORKERS, checkReadRange, poolOf, torrentMaps } from './store.js';
import { pieceCheck } from './verify.js';
import type { PieceStore, StoreOptions } from './store.js';
import { WorkerPool, type WorkerClient } from './worker-pool.js';
import type { CommitResult, WorkerFile } from './worker-protocol.js';

/**
 * A torrent's files on disk behind the `PieceStore` contract.
 *
 * The main thread only moves references: a finished piece buffer (shared memory) is
 * posted to a worker, which hashes it in place and, when it matches, writes it with one
 * positional write per file extent. Recheck runs entirely in the workers too (large
 * reads, streaming hash). Seeding reads (`readBlock`) go through libuv's thread pool.
 *
 * Resume: with `resume` options a record of the verified pieces and of each file's size
 * and mtime is kept (`resume.ts`); `verifyExisting` trusts the files that still match it
 * and reads only the pieces of files that changed. Without a record it rechecks.
 */

export interface TorrentStorageOptions extends StoreOptions {
  /** Keep a resume record; without it every start rechecks existing data. */
  readonly resume?: ResumeOptions;
  /** Files (by index in `info.files`) never to create: see `setSkipped`. */
  readonly skip?: readonly boolean[];
  /** Name of the part file in the output folder; must start with a dot. Default: from the piece hashes. */
  readonly partFile?: string;
  /**
   * The session's storage workers, shared with its other torrents; without it the storage
   * starts `workers` threads of its own and stops them on close.
   */
  readonly pool?: WorkerPool;
}

/** What `verifyExisting` found, and how. */
export interface ExistingData {
  readonly have: Bitfield;
  /** Pieces taken from the resume record without reading them. */
  readonly trusted: number;
  /** Pieces read and hashed. */
  readonly checked: number;
}

export interface VerifyOptions {
  /** Ignore the resume record: read and hash everything on disk. */
  readonly recheck?: boolean;
  readonly onProgress?: (checked: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** Bytes of pieces per recheck task: amortizes messaging over many small pieces. */
const RECHECK_BATCH = 16 << 20;
/** Tasks queued per worker during recheck, so a worker never idles waiting for the next. */
const RECHECK_DEPTH = 2;
/** Concurrent `lstat` walks when checking paths at open. */
const OPEN_CONCURRENCY = 16;

export class TorrentStorage extends PooledStore implements PieceStore {
  /** Every file was absent or empty at open: nothing on disk to recheck. */
  fresh = false;
  private readonly workers: WorkerClient;
  /** Threads started for this storage alone (no session pool given): stopped on close. */
  private readonly ownPool: WorkerPool | undefined;
  private readonly files: AsyncFiles;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  private readonly journal: ResumeJournal | undefined;
  private readonly parts: PartMap;
  private readonly partComponents: readonly string[];
  private readonly realRoot: string;
  private skipped: Uint8Array;

  private constructor(
    info: InfoDict,
    pool: PieceBufferPool,
    workers: { client: WorkerClient; own: WorkerPool | undefined },
    where: { realRoot: string; files: AsyncFiles; part: readonly string[]; skipped: Uint8Array },
    journal: ResumeJournal | undefined,
  ) {
    super(info, pool);
    this.workers = workers.client;
    this.ownPool = workers.own;
    this.files = where.files;
    this.realRoot = where.realRoot;
    this.partComponents = where.part;
    this.skipped = where.skipped;
    this.journal = journal;
    this.parts = new PartMap(this.geometry, this.layout, info.files);
  }

  /** The resume record's file, when one is kept. */
  get resumeFile(): string | undefined {
    return this.journal?.file;
  }

  /**
   * Opens (creating if needed) the output folder `root`, refuses the torrent if any of
   * its paths would cross a symlink already inside it, creates zero-length files, and
   * starts the workers. Existing data is kept: call `recheck` to find it.
   */
  static async open(root: string, info: InfoDict, opts: TorrentStorageOptions = {}): Promise<TorrentStorage> {
    // Validate the numbers before anything touches the disk.
    const { geometry, layout } = torrentMaps(info);
    const pool = poolOf(info.pieceLength, opts);
    let realRoot: string;
    try {
      await makeDirectory(root);
      realRoot = await fs.realpath(root);
    } catch (err) {
      throw toStorageError(err, root);
    }
    const components = info.files.map((_, i) => fileComponents(info, i));
    const data = components.filter((_, i) => !info.files[i]!.pad);
    for (const c of data) resolveInside(realRoot, c);
    const part = [opts.partFile ?? defaultPartName(info.merkle?.hashes ?? info.pieces)];
    if (!part[0]!.startsWith('.')) throw new StorageError('invalid-argument', `part file "${part[0]}" is not hidden (no leading dot)`);
    resolveInside(realRoot, part);
    const skipped = skipFlags(info, opts.skip);
    for (let i = 0; i < data.length; i += OPEN_CONCURRENCY) {
      await Promise.all(data.slice(i, i + OPEN_CONCURRENCY).map((c) => checkExistingPath(realRoot, c)));
    }
    // A torrent whose files were all absent or empty holds no data yet: no recheck needed.
    let fresh = await isAbsentOrEmpty(realRoot, part);
    for (const [i, f] of info.files.entries()) {
      if (f.pad) continue;
      if (f.length === 0) {
        if (skipped[i] === 0) await closeFd(await openOrThrow(realRoot, components[i]!));
      } else if (fresh) fresh = await isAbsentOrEmpty(realRoot, components[i]!);
    }
    const workerFiles: WorkerFile[] = info.files.map((f, i) => ({
      components: components[i]!,
      offset: f.offset,
      length: f.length,
      pad: f.pad,
    }));
    const own = opts.pool === undefined ? new WorkerPool(opts.workers ?? DEFAULT_WORKERS) : undefined;
    const client = (opts.pool ?? own)!.client({
      root: realRoot,
      files: workerFiles,
      pieceLength: info.pieceLength,
      totalLength: info.length,
      partFile: part,
      skipped,
    });
    const workers = { client, own };
    const journal = opts.resume === undefined ? undefined : new ResumeJournal(opts.resume, { root: realRoot, info, geometry, layout, components });
    const files = new AsyncFiles(realRoot, [...components, part]);
    const storage = new TorrentStorage(info, pool, workers, { realRoot, files, part, skipped }, journal);
    storage.fresh = fresh;
    return storage;
  }

  /**
   * The worker that commits a piece: the one owning the file where the piece starts. Two
   * threads writing one file contend on its inode lock, and the kernel spins the waiter:
   * profiled at 15 % of the CPU when page-cache copies were slow. One writer per file avoids it.
   * Hashing is the larger cost and needs no lock: see `storePiece`. The torrent's id shifts
   * the choice, so the single files of several torrents have different writers.
   */
  private writerFor(index: number): number {
    const first = this.layout.extents(this.geometry.pieceOffset(index), this.geometry.pieceSize(index)).find((e) => !e.pad);
    return ((first?.fileIndex ?? 0) + this.workers.id) % this.workers.size;
  }

  /**
   * The buffer moves to a worker (no copy) and comes back with the result. When the file's
   * writer is idle it hashes and writes in one task; when it is busy, the least busy worker
   * hashes and the writer only writes, so even a single-file torrent hashes on every core.
   */
  protected storePiece(index: number, buf: Buffer): Promise<CommitResult> {
    // Tracked as a whole: `close` must not slip in between the hash and the write.
    return this.track(this.hashAndWrite(index, buf));
  }

  private async hashAndWrite(index: number, buf: Buffer): Promise<CommitResult> {
    const lent = buf.buffer as ArrayBuffer;
    // Read before the transfer: `buf` is detached (length 0) once its buffer has moved.
    const length = buf.length;
    const data = new Uint8Array(lent, 0, length);
    const check = pieceCheck(this.info, index);
    const writer = this.writerFor(index);
    try {
      if (this.workers.idle(writer)) {
        const { result, buffer } = await this.workers.run({ type: 'commit', index, data, check }, { worker: writer, transfer: [lent], urgent: true });
        this.pool.returned(lent, buffer);
        if (result === 'ok') this.journal?.pieceWritten(index);
        return result;
      }
      const verified = await this.workers.run({ type: 'verify', data, check }, { transfer: [lent], urgent: true });
      let back = verified.buffer;
      if (verified.result === 'ok') {
        const piece = new Uint8Array(back, 0, length);
        back = await this.workers.run({ type: 'write', index, begin: 0, data: piece }, { worker: writer, transfer: [back], urgent: true });
        this.journal?.pieceWritten(index);
      }
      this.pool.returned(lent, back);
      return verified.result;
    } catch (err) {
      this.pool.lost(lent);
      throw err;
    }
  }

  protected async storeBlock(index: number, begin: number, data: Uint8Array): Promise<ArrayBuffer> {
    // Any worker, not the file's writer: in a swarm the spilled runs are most of the writes,
    // and one thread behind a busy CPU let them pile up (tens of MiB waiting to be written).
    const buffer = await this.track(this.workers.run({ type: 'write', index, begin, data }, { transfer: [data.buffer as ArrayBuffer] }));
    this.journal?.filesWritten(index);
    return buffer;
  }

  protected async verifyPiece(index: number): Promise<CommitResult> {
    // Only reads and hashes: any worker will do, so a single file hashes on every core.
    const ok = await this.track(this.workers.run({ type: 'check', first: index, count: 1, checks: [pieceCheck(this.info, index)] }));
    // Its blocks were written before this check read them: the record may list it.
    if (ok[0] === 1) this.journal?.pieceWritten(index);
    return ok[0] === 1 ? 'ok' : 'hash-mismatch';
  }

  async readBlock(index: number, begin: number, length: number, into?: Buffer): Promise<Buffer> {
    this.checkOpen();
    checkReadRange(this.geometry, index, begin, length);
    const out = into === undefined ? Buffer.allocUnsafe(length) : into.subarray(0, length);
    const read = async (): Promise<Buffer> => {
      const parts: Promise<void>[] = [];
      for (const e of this.parts.place(this.geometry.pieceOffset(index) + begin, length, (i) => this.skipped[i] === 1)) {
        const run = out.subarray(e.at, e.at + e.length);
        if (e.pad) run.fill(0);
        else parts.push(this.readExtent(e.fileIndex, run, e.fileOffset, e.part));
      }
      await Promise.all(parts);
      return out;
    };
    return this.track(read());
  }

  /**
   * Finds the verified pieces already on disk at start: none when every file was absent or
   * empty; else from the resume record where files still match it, reading only the pieces
   * of files that changed; else (no record, or `recheck`) by reading everything.
   */
  async verifyExisting(opts: VerifyOptions = {}): Promise<ExistingData> {
    this.checkOpen();
    const n = this.geometry.pieceCount;
    const journal = this.journal;
    // Stamps before any read: a file changed while it is being checked shows as changed next time.
    const stamps = journal === undefined ? [] : await journal.stampAll();
    let result: ExistingData;
    let upToDate = false;
    let pending: Bitfield | undefined;
    if (this.fresh) result = { have: new Bitfield(n), trusted: 0, checked: 0 };
    else {
      const record = journal === undefined || opts.recheck === true ? undefined : await journal.load();
      const match = record === undefined ? undefined : journal!.match(record, stamps);
      if (match === undefined) result = { have: await this.recheck(opts.onProgress, opts.signal), trusted: 0, checked: n };
      else {
        const have = match.toCheck.count === 0 ? new Bitfield(n) : await this.recheck(opts.onProgress, opts.signal, match.toCheck);
        for (let p = 0; p < n; p++) if (match.trusted.has(p)) have.set(p);
        result = { have, trusted: match.trusted.count, checked: match.toCheck.count };
        upToDate = match.toCheck.count === 0;
        pending = record!.pending;
      }
    }
    journal?.begin(result.have, stamps, upToDate, pending);
    await this.settleParts(result.have);
    return result;
  }

  /**
   * Bytes a former run (or the time before a pause) kept in the part file for files that are
   * wanted now, and absent, go into those files for the `have` pieces; the part file goes
   * when no file is skipped. `verifyExisting` does this; call it when `have` comes from
   * elsewhere.
   */
  async settleParts(have: Bitfield): Promise<void> {
    this.checkOpen();
    await this.exportParts(this.skipped.map(() => 1), have, this.skipped);
    if (this.skipped.every((s) => s === 0)) await this.removePartFile();
  }

  /**
   * Which files (by index in `info.files`) are skipped. A skipped file is never created: the
   * bytes of it that share a piece with a wanted file go to the part file (part-file.ts). A
   * file wanted again gets those bytes back from the part file for the `have` pieces, before
   * its new writes go to it; a file already on disk stays and is written in place. Once no
   * file is skipped the part file is deleted.
   */
  async setSkipped(skip: readonly boolean[], have: Bitfield): Promise<void> {
    this.checkOpen();
    const next = skipFlags(this.info, skip);
    const before = this.skipped;
    await this.exportParts(before, have, next);
    for (const [i, f] of this.info.files.entries()) {
      if (!f.pad && f.length === 0 && before[i] === 1 && next[i] === 0) await closeFd(await openOrThrow(this.realRoot, fileComponents(this.info, i)));
    }
    this.skipped = next;
    await this.track(this.workers.setSkipped(next));
    if (next.every((s) => s === 0)) await this.removePartFile();
  }

  /** Copies part-file bytes of `have` pieces into each file skipped in `before` and not in `after`. */
  private async exportParts(before: Uint8Array, have: Bitfield, after: Uint8Array): Promise<void> {
    if (this.parts.slotCount === 0 || (await isAbsentOrEmpty(this.realRoot, this.partComponents))) return;
    for (const [file, f] of this.info.files.entries()) {
      if (before[file] !== 1 || after[file] !== 0) continue;
      const pieces = this.parts.sharedPiecesOf(f).filter((p) => have.has(p));
      if (pieces.length === 0) continue;
      await this.track(this.workers.run({ type: 'export', file, pieces }));
      for (const p of pieces) this.journal?.filesWritten(p);
    }
  }

  private async removePartFile(): Promise<void> {
    await fs.unlink(resolveInside(this.realRoot, this.partComponents)).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw toStorageError(err, this.partComponents.join('/'));
    });
  }

  /**
   * Writes the resume record now (after making the pieces it lists durable) instead of at
   * the next batch; resolves when done. A failure goes to the resume `onError`.
   */
  flushResume(): Promise<void> {
    return this.journal?.flush() ?? Promise.resolve();
  }

  /** Reads and hashes the pieces on disk (only those set in `only`, when given). */
  recheck(onProgress?: (checked: number, total: number) => void, signal?: AbortSignal, only?: Bitfield): Promise<Bitfield> {
    this.checkOpen();
    const have = new Bitfield(this.geometry.pieceCount);
    const perTask = Math.max(1, Math.floor(RECHECK_BATCH / this.geometry.pieceLength));
    const runs = pieceRuns(this.geometry.pieceCount, perTask, only);
    const total = only?.count ?? this.geometry.pieceCount;
    return new Promise<Bitfield>((resolve, reject) => {
      let checked = 0;
      let running = 0;
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(have);
        else reject(err);
      };
      const onAbort = (): void => finish(new StorageError('aborted', 'recheck aborted'));
      const pump = (): void => {
        while (!done && running < RECHECK_DEPTH * this.workers.size) {
          const run = runs.next();
          if (run.done === true) break;
          const [first, count] = run.value;
          running++;
          const checks = Array.from({ length: count }, (_, i) => pieceCheck(this.info, first + i));
          this.track(this.workers.run({ type: 'check', first, count, checks })).then(
            (ok) => {
              running--;
              if (done) return;
              ok.forEach((v, i) => v === 1 && have.set(first + i));
              checked += count;
              onProgress?.(checked, total);
              if (checked === total) finish();
              else pump();
            },
            (err: Error) => {
              running--;
              finish(err);
            },
          );
        }
      };
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (total === 0) finish();
      else pump();
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.spill.drop();
      await Promise.allSettled([...this.inFlight]);
      try {
        await this.workers.close();
      } finally {
        await this.ownPool?.terminate();
        await this.files.closeAll();
        // Last: every write has returned, so the final record may list every verified piece.
        await this.journal?.close();
      }
    })();
    return this.closing;
  }

  /** Reads a run of a file; a skipped file that is not on disk is read from the part file at `part`. */
  private async readExtent(fileIndex: number, dst: Buffer, position: number, part?: number): Promise<void> {
    let got = await this.files.read(fileIndex, dst, position);
    if (got === 0 && part !== undefined) got = await this.files.read(this.info.files.length, dst, part);
    if (got < dst.length) {
      const name = fileComponents(this.info, fileIndex).join('/');
      throw new StorageError('disk', `file "${name}": ${dst.length - got} bytes at ${position + got} are not on disk`);
    }
  }

  protected checkOpen(): void {
    if (this.closing !== undefined) throw new StorageError('closed', 'storage is closed');
  }

  /** Remembers work in flight so that `close` can wait for it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = (): void => void this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }
}

/** `[first, count]` runs of consecutive pieces to check (those set in `only`), at most `perTask` long. */
function* pieceRuns(total: number, perTask: number, only: Bitfield | undefined): Generator<[number, number]> {
  for (let p = 0; p < total; ) {
    if (only !== undefined && !only.has(p)) {
      p++;
      continue;
    }
    const first = p;
    while (p < total && p - first < perTask && (only === undefined || only.has(p))) p++;
    yield [first, p - first];
  }
}

/** One byte per file, 1 for a skipped one. */
function skipFlags(info: InfoDict, skip: readonly boolean[] | undefined): Uint8Array {
  if (skip !== undefined && skip.length !== info.files.length) {
    throw new StorageError('invalid-argument', `${skip.length} skip flags for ${info.files.length} files`);
  }
  return Uint8Array.from(info.files, (_, i) => (skip?.[i] === true ? 1 : 0));
}

async function isAbsentOrEmpty(realRoot: string, components: readonly string[]): Promise<boolean> {
  const st = await fs.lstat(resolveInside(realRoot, components)).catch(() => undefined);
  return st === undefined || st.size === 0;
}

async function openOrThrow(realRoot: string, components: readonly string[]): Promise<number> {
  const fd = await openSafe(realRoot, components, 'write');
  if (fd === undefined) throw new StorageError('disk', `file "${components.join('/')}" could not be created`);
  return fd;
}
