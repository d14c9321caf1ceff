/**
 * `TorrentHandle`: what `Session.add` returns, the public face of one torrent. Typed events,
 * a progress stream, pause/resume/remove, stats, files and a promise for completion. The
 * orchestration itself lives in torrent.ts; this file only translates it for embedders.
 */
import { realpath, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Metainfo, PeerAddress } from '../metainfo/types.js';
import { FILE_PRIORITIES, NORMAL, priorityLevel, type FilePriority } from '../swarm/piece-priority.js';
import { partFileName } from '../storage/part-file.js';
import { SessionError } from './errors.js';
import { TypedEmitter } from './events.js';
import type { MetadataProgress } from './metadata-phase.js';
import type { Torrent } from './torrent.js';
import type { SeedLimits, TorrentEvents, TorrentState, TorrentStats, TorrentWarning } from './torrent-types.js';

export type { TorrentState, TorrentStats, TorrentWarning, MetadataProgress, FilePriority };
export { FILE_PRIORITIES };

/** A snapshot of a torrent, as the `progress` event and `stats()` give it. */
export interface TorrentProgress extends TorrentStats {
  /** Hex info hash. */
  readonly infoHash: string;
  /** The torrent's name; a magnet's `dn` (or undefined) until its metadata arrives. */
  readonly name: string | undefined;
  /** Verified fraction of the content, 0 to 1 (0 while the size is unknown). */
  readonly fraction: number;
  /** Seconds left at the current download rate; Infinity when nothing arrives. */
  readonly etaSeconds: number;
}

/** One file of the torrent. */
export interface TorrentFile {
  /** Path below the download folder, components joined with '/'. */
  readonly path: string;
  readonly length: number;
  /** Byte offset in the torrent's piece space. */
  readonly offset: number;
  /** Bytes of this file inside verified pieces. */
  readonly verifiedBytes: number;
  /** `skip`: never fetched nor created; `high` first, `low` last (see `setFilePriorities`). */
  readonly priority: FilePriority;
}

/** Events of a torrent, each with its arguments. */
export interface TorrentEventMap {
  /** The metadata is known (at once for a .torrent; when fetched for a magnet link). */
  metadata: [meta: Metainfo];
  /** Every state change (see `TorrentState`). */
  state: [state: TorrentState];
  /** Progress of the check of data already on disk. */
  checking: [checked: number, total: number];
  /** Progress of a magnet's metadata fetch, on every change. */
  'metadata-progress': [progress: MetadataProgress];
  /** A piece passed its hash check and is on disk. */
  verified: [piece: number];
  /** A piece failed its hash check (its data is dropped and fetched again; `hashFailures` counts these). */
  'piece-failed': [piece: number];
  /** About once a second while the torrent runs. */
  progress: [progress: TorrentProgress];
  /** Every piece is verified (emitted once; the torrent goes on seeding). */
  done: [];
  /** A seeding limit (`seedRatio`, `seedTimeMs`) was met: the torrent has paused itself. */
  seeded: [];
  /** Something that does not stop the torrent: a tracker failure, a banned peer. */
  warning: [warning: TorrentWarning];
  /** The torrent failed and stopped (state `error`); `whenDone()` rejects with the same error. */
  error: [err: Error];
  'peer-connect': [peer: PeerAddress, info: { outgoing: boolean }];
  'peer-disconnect': [peer: PeerAddress, reason: string];
  /** With `trace: true`: the swarm's once-a-second line of per-peer rates and queues (diagnostics). */
  trace: [line: string];
}

export interface RemoveOptions {
  /** Also delete the torrent's files (never anything else) from the download folder. */
  deleteData?: boolean;
}

/** What the session gives a handle: how to leave it. */
export interface HandleOwner {
  detach(handle: TorrentHandle): void;
}

export class TorrentHandle extends TypedEmitter<TorrentEventMap> {
  /** Hex info hash (v1). */
  readonly infoHash: string;
  /** The download folder given to `add` (`path`). */
  readonly path: string;
  private torrent!: Torrent;
  private done = false;
  private ended: Error | undefined;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly fallbackName: string | undefined;
  /** Progress iterators waiting for the next snapshot or the end. */
  private readonly wakers = new Set<() => void>();

  /** @internal Made by `Session.add`. */
  constructor(
    infoHash: string,
    path: string,
    name: string | undefined,
    private readonly owner: HandleOwner,
  ) {
    super();
    this.infoHash = infoHash;
    this.path = path;
    this.fallbackName = name;
  }

  /** @internal The torrent's reports, turned into events. */
  bind(torrent: Torrent): void {
    this.torrent = torrent;
  }

  /** @internal */
  readonly sink: TorrentEvents = {
    onState: (s) => this.emit('state', s),
    onChecking: (c, t) => this.emit('checking', c, t),
    onMetadata: (meta) => this.emit('metadata', meta),
    onMetadataProgress: (p) => this.emit('metadata-progress', p),
    onVerified: (i) => this.emit('verified', i),
    onPieceFailed: (i) => this.emit('piece-failed', i),
    onDone: () => {
      this.done = true;
      this.emit('progress', this.stats());
      this.emit('done');
      for (const w of this.waiters.splice(0)) w.resolve();
    },
    onSeeded: () => this.emit('seeded'),
    onTick: () => this.emit('progress', this.stats()),
    onWarning: (w) => this.emit('warning', w),
    onError: (err) => {
      const e = err instanceof Error ? err : new Error(String(err));
      this.emit('error', e);
      this.end(e);
      this.owner.detach(this);
    },
    onPeerConnected: (a, outgoing) => this.emit('peer-connect', a, { outgoing }),
    onPeerDisconnected: (a, reason) => this.emit('peer-disconnect', a, reason),
    onTrace: (line) => this.emit('trace', line),
  };

  get state(): TorrentState {
    return this.torrent.state;
  }

  /** The torrent's name: from its metadata, else the magnet's `dn`. */
  get name(): string | undefined {
    return this.torrent.meta?.info.name ?? this.fallbackName;
  }

  /** The parsed metadata; undefined for a magnet link until it arrives. */
  get metainfo(): Metainfo | undefined {
    return this.torrent.meta;
  }

  /** For a magnet link: a .torrent file holding the received info dictionary verbatim. */
  get torrentFile(): Uint8Array | undefined {
    return this.torrent.torrentBytes;
  }

  stats(): TorrentProgress {
    const st = this.torrent.stats();
    const left = st.totalBytes - st.bytesVerified;
    return {
      ...st,
      infoHash: this.infoHash,
      name: this.name,
      fraction: st.totalBytes === 0 ? (this.torrent.meta !== undefined ? 1 : 0) : st.bytesVerified / st.totalBytes,
      etaSeconds: left === 0 && this.torrent.meta !== undefined ? 0 : st.downRate > 0 ? left / st.downRate : Infinity,
    };
  }

  /** Whether piece `index` is verified on disk. */
  hasPiece(index: number): boolean {
    return this.torrent.hasPiece(index);
  }

  /**
   * Pieces to fetch before any other, most urgent first (a reader's position: streaming).
   * Replaces the previous list; at most 256 are kept.
   */
  setUrgent(pieces: readonly number[]): void {
    this.torrent.setUrgent(pieces);
  }

  /** Fetch new pieces in index order (`--sequential`) instead of rarest first. */
  setSequential(on: boolean): void {
    this.torrent.setSequential(on);
  }

  /**
   * When to stop seeding, replacing the `add` options `seedRatio`, `seedTimeMs` and
   * `seedIdleMs`: uploaded since the torrent was added ≥ `ratio` × the wanted bytes, `timeMs`
   * of seeding, or `idleMs` of seeding without uploading. The first met pauses the torrent
   * (`seeded`); an absent limit never does. Times count from each start.
   */
  setSeedLimits(limits: SeedLimits): void {
    for (const [k, v] of Object.entries(limits)) {
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new SessionError('bad-argument', `seed limit ${k} must be a number ≥ 0`);
    }
    this.torrent.setSeedLimits(limits);
  }

  get seedLimits(): SeedLimits {
    return this.torrent.currentSeedLimits;
  }

  /** This torrent's limits in bytes per second (0: none; the session's limits apply on top). */
  setRateLimits(limits: { readonly download?: number; readonly upload?: number }): void {
    this.torrent.setRateLimits(limits);
  }

  /**
   * Changes file priorities, by index in `files()`: a full list (one per file) or a map of
   * changes. Takes effect at once while the torrent runs and is kept across pauses:
   * - `skip`: the file is not fetched and never created; bytes of it that share a piece with
   *   a wanted file go to a hidden part file in the download folder (`.<info hash>.parts`),
   *   deleted once no file is skipped. A file skipped after it was created stays as it is.
   * - `low`, `normal` (the default), `high`: new pieces start in this order, highest first.
   * A piece already started when its file becomes `skip` is finished. With files skipped,
   * `done` (and `whenDone`) means every wanted file is complete and verified, and progress
   * counts the wanted pieces only (`totalBytes`); selecting more after that makes the state
   * `downloading` again and `done` comes again. Rejects with `SessionError`:
   * `no-metadata-yet` (a magnet before its metadata: a link's BEP 53 `so` is applied then),
   * `bad-argument`; or the storage's error if moving bytes out of the part file failed.
   */
  async setFilePriorities(changes: readonly FilePriority[] | ReadonlyMap<number, FilePriority>): Promise<void> {
    const meta = this.torrent.meta;
    if (meta === undefined) throw new SessionError('no-metadata-yet', 'file priorities need the metadata, which has not arrived yet');
    const data = dataFileIndices(meta);
    const levels = [...(this.torrent.filePriorityLevels ?? meta.info.files.map(() => NORMAL))];
    const entries: [number, FilePriority][] = Array.isArray(changes) ? changes.map((p, i) => [i, p]) : [...(changes as ReadonlyMap<number, FilePriority>)];
    if (Array.isArray(changes) && changes.length !== data.length) {
      throw new SessionError('bad-argument', `${changes.length} priorities for ${data.length} files`);
    }
    for (const [index, p] of entries) {
      if (!Number.isInteger(index) || index < 0 || index >= data.length) throw new SessionError('bad-argument', `file ${index} does not exist (${data.length} files, from 0)`);
      if (!FILE_PRIORITIES.includes(p)) throw new SessionError('bad-argument', `unknown file priority "${String(p)}"`);
      levels[data[index]!] = priorityLevel(p);
    }
    await this.torrent.setFilePriorityLevels(levels);
  }

  /** One file's priority (see `setFilePriorities`). */
  setFilePriority(index: number, priority: FilePriority): Promise<void> {
    return this.setFilePriorities(new Map([[index, priority]]));
  }

  /** The torrent's files (empty until a magnet's metadata arrives). */
  files(): TorrentFile[] {
    const meta = this.torrent.meta;
    if (meta === undefined) return [];
    const info = meta.info;
    const have = this.torrent.verifiedPieces;
    const levels = this.torrent.filePriorityLevels;
    return info.files
      .map((f, i) => ({ f, priority: FILE_PRIORITIES[levels?.[i] ?? NORMAL]! }))
      .filter(({ f }) => !f.pad)
      .map(({ f, priority }) => {
        let verifiedBytes = 0;
        if (have !== undefined && f.length > 0) {
          const first = Math.floor(f.offset / info.pieceLength);
          const last = Math.floor((f.offset + f.length - 1) / info.pieceLength);
          for (let i = first; i <= last; i++) {
            if (!have.has(i)) continue;
            const start = Math.max(f.offset, i * info.pieceLength);
            const end = Math.min(f.offset + f.length, (i + 1) * info.pieceLength);
            verifiedBytes += end - start;
          }
        }
        return { path: (info.multiFile ? [info.name, ...f.path] : f.path).join('/'), length: f.length, offset: f.offset, verifiedBytes, priority };
      });
  }

  /**
   * Resolves once every wanted piece is verified (at once if that is already so). Rejects with:
   * - `SessionError` `stopped`: the session was closed first;
   * - `SessionError` `removed`: `remove()` was called first;
   * - `SessionError` `aborted`: the `signal` given to `add` fired first;
   * - `SessionError` `no-metadata`: a magnet's `metadataTimeoutMs` passed without metadata;
   * - the torrent's own error (e.g. `StorageError` on a disk error, `MetainfoError` for
   *   unusable metadata), also emitted as `error`.
   * A pause does not settle it: a paused torrent may still finish after `resume()`.
   */
  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve();
    if (this.ended !== undefined) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Resolves once the data is checked and the torrent exchanges pieces (state `downloading`
   * or `seeding`); for a magnet link, after its metadata arrived. Rejects as `whenDone()` does.
   * A paused torrent is not ready until it is resumed.
   */
  whenReady(): Promise<void> {
    const ready = (): boolean => this.torrent.state === 'downloading' || this.torrent.state === 'seeding';
    if (ready()) return Promise.resolve();
    if (this.ended !== undefined) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (ready()) {
          this.wakers.delete(check);
          this.off('state', check);
          resolve();
        } else if (this.ended !== undefined) {
          this.wakers.delete(check);
          this.off('state', check);
          reject(this.ended);
        }
      };
      this.on('state', check);
      this.wakers.add(check);
    });
  }

  /**
   * Progress snapshots, about one a second (only the latest is kept while the consumer is
   * busy), ending after the one at completion. It ends early when the torrent is removed or
   * the session closed, and throws the torrent's error if it fails.
   */
  async *progress(): AsyncGenerator<TorrentProgress, void, undefined> {
    let latest: TorrentProgress | undefined = this.stats();
    let wake: (() => void) | undefined;
    const onProgress = (p: TorrentProgress): void => {
      latest = p;
      wake?.();
    };
    const onEnd = (): void => wake?.();
    this.on('progress', onProgress);
    this.on('done', onEnd);
    this.wakers.add(onEnd);
    try {
      for (;;) {
        if (latest !== undefined) {
          const p = latest;
          latest = undefined;
          yield p;
          continue;
        }
        if (this.done) return;
        if (this.ended !== undefined) {
          if (this.ended instanceof SessionError) return;
          throw this.ended;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.off('progress', onProgress);
      this.off('done', onEnd);
      this.wakers.delete(onEnd);
    }
  }

  /** Close every connection and the files, keeping what is verified; `resume()` carries on. */
  pause(): Promise<void> {
    return this.torrent.pause();
  }

  /** Start a paused torrent (or one added with `paused: true`). */
  resume(): void {
    if (this.ended === undefined) this.torrent.resume();
  }

  /** Stop the torrent and take it out of the session; `whenDone()` rejects with `removed` if it was not done. */
  async remove(opts: RemoveOptions = {}): Promise<void> {
    await this.stopWith(new SessionError('removed', 'the torrent was removed before it finished'));
    if (opts.deleteData === true) await this.deleteData();
  }

  /** @internal Stop, settle `whenDone` and leave the session. */
  async stopWith(reason: SessionError): Promise<void> {
    this.owner.detach(this);
    try {
      await this.torrent.stop();
    } finally {
      this.end(reason);
    }
  }

  private end(reason: Error): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    if (!this.done) for (const w of this.waiters.splice(0)) w.reject(reason);
    this.waiters = [];
    for (const wake of this.wakers) wake();
  }

  /** Unlink each of the torrent's files and its part file (paths were sanitized when parsed), then empty folders. */
  private async deleteData(): Promise<void> {
    const meta = this.torrent.meta;
    if (meta === undefined) return;
    let root: string;
    try {
      root = await realpath(this.path);
    } catch {
      return;
    }
    const info = meta.info;
    const dirs = new Set<string>();
    await unlink(join(root, partFileName(meta.infoHashHex))).catch(() => undefined);
    for (const f of info.files) {
      if (f.pad) continue;
      const full = join(root, ...(info.multiFile ? [info.name, ...f.path] : f.path));
      await unlink(full).catch(() => undefined);
      for (let d = dirname(full); d.length > root.length && d.startsWith(root); d = dirname(d)) dirs.add(d);
    }
    // Deepest first; a folder that still holds other files stays.
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) await rmdir(d).catch(() => undefined);
  }
}

/** Indices in `info.files` of the data files, in order: `files()` numbering (padding is not numbered). */
function dataFileIndices(meta: Metainfo): number[] {
  return meta.info.files.flatMap((f, i) => (f.pad ? [] : [i]));
}
