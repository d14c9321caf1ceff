/**
 * `Daemon`: a long-running client of `Session`. It gives each torrent a small integer id (what
 * Transmission's RPC speaks), keeps the user's wishes about it (paused, limits, file choices)
 * and saves them with the metainfo in the config folder, so that a restart — even after
 * `kill -9` — brings every torrent back as it was, its verified pieces trusted from the
 * resume records instead of read again. Both HTTP faces (Transmission RPC, Tessera's API)
 * call the methods here; neither touches the session directly.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { MAX_TORRENT_FILE_BYTES } from '../metainfo/index.js';
import type { MagnetLink, Metainfo } from '../metainfo/types.js';
import type { TorrentHandle } from '../session/handle.js';
import { Session, type SessionOptions } from '../session/session.js';
import { resolveSource } from '../session/source.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { DaemonSettings } from './config.js';
import { TorrentEntry, torrentBytesOf } from './entry.js';
import { DaemonError } from './errors.js';
import { applyFileChoices, checkFileChoices, type FileChoices } from './files.js';
import { insideRoots } from './security.js';
import { StateStore, type SavedState, type SavedTorrent, type SessionSeed, type TorrentSeed } from './state.js';
import { WatchFolder } from './watch.js';

export interface DaemonStartOptions {
  readonly settings: DaemonSettings;
  readonly configDir: string;
  /** Settings given on the command line: they win over what was changed at run time and saved. */
  readonly fromFlags?: ReadonlySet<keyof DaemonSettings>;
  /** More session options (tests keep everything on 127.0.0.1). */
  readonly session?: Partial<SessionOptions>;
  readonly clock?: Clock;
  /** One line per notable event (a torrent that could not be restored, a watched file refused). */
  readonly log?: (line: string) => void;
}

export type AddSource =
  | { readonly kind: 'metainfo'; readonly bytes: Uint8Array }
  | { readonly kind: 'magnet'; readonly link: string }
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'file'; readonly path: string };

export interface AddRequest {
  readonly source: AddSource;
  readonly downloadDir?: string;
  readonly paused?: boolean;
  readonly files?: FileChoices;
}

export interface AddResult {
  readonly entry: TorrentEntry;
  readonly duplicate: boolean;
}

/** Transmission's session defaults: ratio 2 and 30 idle minutes, neither on. */
const DEFAULT_SESSION_SEED: SessionSeed = { ratio: 2, ratioLimited: false, idleMinutes: 30, idleLimited: false };

/** How often the transfer totals are saved while torrents run. */
const SAVE_INTERVAL_MS = 60_000;

export class Daemon {
  readonly session: Session;
  readonly settings: DaemonSettings;
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly byId = new Map<number, TorrentEntry>();
  private readonly byHash = new Map<string, TorrentEntry>();
  /** Ids removed lately, for torrent-get's "recently-active" (bounded). */
  private readonly removed: number[] = [];
  private nextId = 1;
  private downloadDirNow: string;
  private startAdded: boolean;
  private limits: { down: number; up: number };
  private seedDefaults: SessionSeed;
  private watch: WatchFolder | undefined;
  private saver: TimerHandle | undefined;
  private closing: Promise<void> | undefined;
  readonly startedAt: number;

  private constructor(opts: DaemonStartOptions, saved: SavedState) {
    const s = opts.settings;
    const flag = (k: keyof DaemonSettings): boolean => opts.fromFlags?.has(k) === true;
    this.settings = s;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? (() => undefined);
    this.store = new StateStore(opts.configDir);
    this.nextId = saved.nextId;
    this.downloadDirNow = !flag('downloadDir') && saved.downloadDir !== undefined ? saved.downloadDir : s.downloadDir;
    this.startAdded = !flag('startAddedTorrents') && saved.startAddedTorrents !== undefined ? saved.startAddedTorrents : s.startAddedTorrents;
    this.limits = {
      down: !flag('maxDown') && saved.maxDown !== undefined ? saved.maxDown : s.maxDown,
      up: !flag('maxUp') && saved.maxUp !== undefined ? saved.maxUp : s.maxUp,
    };
    this.seedDefaults = saved.seed ?? DEFAULT_SESSION_SEED;
    this.startedAt = this.clock.now();
    this.session = new Session({
      ...(s.port !== undefined ? { port: s.port } : {}),
      ...(s.dht ? {} : { dht: false as const }),
      encryption: s.encryption,
      ...(s.maxPeersPerIp !== undefined ? { maxPeersPerIp: s.maxPeersPerIp } : {}),
      maxDownloadRate: this.limits.down,
      maxUploadRate: this.limits.up,
      resumeDir: this.store.resumeDir,
      clock: this.clock,
      ...opts.session,
    });
  }

  /** Load the saved state, open the session and bring every saved torrent back. */
  static async start(opts: DaemonStartOptions): Promise<Daemon> {
    await mkdir(opts.configDir, { recursive: true });
    const saved = await new StateStore(opts.configDir).load().catch((err: unknown) => {
      throw new DaemonError('bad-config', `cannot read the saved torrent list (state.json): ${(err as Error).message}`);
    });
    const daemon = new Daemon(opts, saved);
    try {
      await daemon.session.listen();
      for (const t of saved.torrents) await daemon.restore(t);
      if (opts.settings.watchDir !== undefined) {
        daemon.watch = new WatchFolder(opts.settings.watchDir, daemon.clock, (bytes, name) => daemon.addWatched(bytes, name), daemon.log);
        await daemon.watch.start();
      }
      daemon.saver = daemon.clock.setInterval(() => void daemon.save().catch(() => undefined), SAVE_INTERVAL_MS);
      return daemon;
    } catch (err) {
      await daemon.close();
      throw err;
    }
  }

  get downloadDir(): string {
    return this.downloadDirNow;
  }

  get startAddedTorrents(): boolean {
    return this.startAdded;
  }

  /** Session limits in bytes per second (0: none). */
  get sessionLimits(): { readonly down: number; readonly up: number } {
    return this.limits;
  }

  /** The session's seeding limits, for torrents in mode 0. */
  get sessionSeed(): SessionSeed {
    return this.seedDefaults;
  }

  async setSessionSeed(changes: Partial<SessionSeed>): Promise<void> {
    this.seedDefaults = { ...this.seedDefaults, ...changes };
    for (const e of this.byId.values()) this.applySeed(e);
    await this.save();
  }

  async setTorrentSeed(entry: TorrentEntry, changes: Partial<TorrentSeed>): Promise<void> {
    entry.seed = { ...entry.seed, ...changes };
    this.applySeed(entry);
    await this.save();
  }

  /** Every torrent, by id. */
  list(): TorrentEntry[] {
    return [...this.byId.values()];
  }

  get(id: number): TorrentEntry | undefined {
    return this.byId.get(id);
  }

  getByHash(hex: string): TorrentEntry | undefined {
    return this.byHash.get(hex.toLowerCase());
  }

  /** The folders a request may name: the configured download folder and the allowed ones. */
  get roots(): string[] {
    return [this.settings.downloadDir, ...this.settings.allowedDirs];
  }

  /** `dir` when it is inside an allowed root; a `path-not-allowed` error otherwise. */
  async checkDir(dir: string): Promise<string> {
    const ok = await insideRoots(dir, this.roots);
    if (ok === undefined) throw new DaemonError('path-not-allowed', `download-dir '${dir}' is not inside an allowed folder`);
    return ok;
  }

  async setDownloadDir(dir: string): Promise<void> {
    this.downloadDirNow = await this.checkDir(dir);
    await this.save();
  }

  async setStartAddedTorrents(on: boolean): Promise<void> {
    this.startAdded = on;
    await this.save();
  }

  async setSessionLimits(limits: { down?: number; up?: number }): Promise<void> {
    this.limits = { down: limits.down ?? this.limits.down, up: limits.up ?? this.limits.up };
    this.session.setRateLimits({ download: this.limits.down, upload: this.limits.up });
    await this.save();
  }

  /** Add a torrent; an info hash the daemon already has gives back that torrent (`duplicate`). */
  async add(req: AddRequest): Promise<AddResult> {
    const dir = req.downloadDir !== undefined ? await this.checkDir(req.downloadDir) : this.downloadDirNow;
    const { source, bytes, magnet } = await this.readSource(req.source);
    const resolved = await resolveSource(source, { fetchTimeoutMs: 30_000 });
    const hex = resolved.kind === 'torrent' ? resolved.meta.infoHashHex : resolved.magnet.infoHashHex;
    if (hex === undefined) throw new DaemonError('bad-request', 'this magnet link has no v1 (urn:btih:) info hash');
    const existing = this.byHash.get(hex);
    if (existing !== undefined) return { entry: existing, duplicate: true };
    const meta = resolved.kind === 'torrent' ? resolved.meta : undefined;
    if (meta !== undefined && req.files !== undefined) checkFileChoices(req.files, meta.info.files.filter((f) => !f.pad).length);
    await mkdir(dir, { recursive: true });
    const id = this.nextId++;
    const handle = await this.session.add(resolved.kind === 'torrent' ? resolved.meta : resolved.magnet, { path: dir, paused: true });
    const entry = new TorrentEntry(id, hex, handle, {
      downloadDir: dir,
      paused: req.paused ?? !this.startAdded,
      addedDate: Math.floor(this.clock.now() / 1000),
      doneDate: 0,
      downLimit: 0,
      upLimit: 0,
      ...(magnet !== undefined ? { magnet } : {}),
      downloadedEver: 0,
      uploadedEver: 0,
    });
    this.track(entry);
    if (meta !== undefined) {
      entry.fitFiles(meta.info.files.filter((f) => !f.pad).length);
      await applyFileChoices(entry, req.files ?? {});
      await this.store.saveTorrent(hex, bytes ?? torrentBytesOf(meta));
    }
    await this.save();
    if (!entry.paused) handle.resume();
    return { entry, duplicate: false };
  }

  async start(entry: TorrentEntry): Promise<void> {
    entry.paused = false;
    entry.finished = false;
    const st = entry.handle.state;
    if (st === 'error' || st === 'stopped') await this.reopen(entry, false);
    else entry.handle.resume();
    await this.save();
  }

  async stop(entry: TorrentEntry): Promise<void> {
    entry.paused = true;
    await this.save();
    await entry.handle.pause();
  }

  /** Read and hash everything on disk again (at once if the torrent runs, else at its next start). */
  async verify(entry: TorrentEntry): Promise<void> {
    await this.reopen(entry, true);
  }

  /** Ids of the torrents removed lately (the last 1000). */
  recentlyRemoved(): number[] {
    return [...this.removed];
  }

  async remove(entry: TorrentEntry, deleteData: boolean): Promise<void> {
    this.removed.push(entry.id);
    if (this.removed.length > 1000) this.removed.shift();
    this.byId.delete(entry.id);
    this.byHash.delete(entry.infoHash);
    await this.save();
    await entry.handle.remove({ deleteData });
    await this.store.dropTorrent(entry.infoHash);
  }

  async setTorrentLimits(entry: TorrentEntry, limits: { down?: number; up?: number }): Promise<void> {
    if (limits.down !== undefined) entry.downLimit = limits.down;
    if (limits.up !== undefined) entry.upLimit = limits.up;
    entry.handle.setRateLimits({ download: entry.downLimit, upload: entry.upLimit });
    await this.save();
  }

  async setFiles(entry: TorrentEntry, choices: FileChoices): Promise<void> {
    const meta = entry.handle.metainfo;
    if (meta === undefined) throw new DaemonError('bad-request', 'the files of this torrent are not known yet (its metadata has not arrived)');
    checkFileChoices(choices, meta.info.files.filter((f) => !f.pad).length);
    try {
      await applyFileChoices(entry, choices);
    } finally {
      // The ratio is of the wanted bytes, which the choices change.
      this.applySeed(entry);
      await this.save();
    }
  }

  /** Stop watching, save, close the session (trackers told within the session's stop timeout). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.saver?.cancel();
      this.watch?.stop();
      await this.save().catch(() => undefined);
      await this.session.close();
    })();
    return this.closing;
  }

  /** Write state.json now (transfer totals included). */
  save(): Promise<void> {
    return this.store.save(() => ({
      nextId: this.nextId,
      torrents: this.list().map((e) => e.toSaved()),
      maxDown: this.limits.down,
      maxUp: this.limits.up,
      downloadDir: this.downloadDirNow,
      startAddedTorrents: this.startAdded,
      ...(this.seedDefaults !== DEFAULT_SESSION_SEED ? { seed: this.seedDefaults } : {}),
    }));
  }

  /** A request's source as something `resolveSource` takes, with the raw bytes when there are some to save. */
  private async readSource(src: AddSource): Promise<{ source: string | Uint8Array; bytes?: Uint8Array; magnet?: string }> {
    switch (src.kind) {
      case 'metainfo':
        return { source: src.bytes, bytes: src.bytes };
      case 'magnet':
        return { source: src.link, magnet: src.link };
      case 'url':
        if (!/^https?:\/\//i.test(src.url)) throw new DaemonError('bad-request', 'filename must be a magnet link, an http(s) URL or a .torrent file inside an allowed folder');
        return { source: src.url };
      case 'file': {
        const roots = this.settings.watchDir !== undefined ? [...this.roots, this.settings.watchDir] : this.roots;
        const file = await insideRoots(src.path, roots);
        if (file === undefined) throw new DaemonError('path-not-allowed', `'${src.path}' is not inside an allowed folder`);
        const info = await stat(file).catch(() => undefined);
        if (info === undefined || !info.isFile()) throw new DaemonError('bad-request', `'${src.path}' is not a readable file`);
        if (info.size > MAX_TORRENT_FILE_BYTES) throw new DaemonError('too-large', `'${src.path}' is larger than a .torrent file may be`);
        const bytes = await readFile(file);
        return { source: bytes, bytes };
      }
    }
  }

  private async addWatched(bytes: Uint8Array, name: string): Promise<void> {
    const { entry, duplicate } = await this.add({ source: { kind: 'metainfo', bytes } });
    this.log(`watch folder: ${duplicate ? 'already have' : 'added'} ${name} as torrent ${entry.id}`);
  }

  private async restore(t: SavedTorrent): Promise<void> {
    const bytes = await this.store.readTorrent(t.infoHash);
    const source = bytes ?? t.magnet;
    if (source === undefined) {
      this.log(`torrent ${t.id} (${t.infoHash}): neither its metainfo nor a magnet link was saved; left out`);
      return;
    }
    let handle: TorrentHandle;
    try {
      await mkdir(t.downloadDir, { recursive: true });
      handle = await this.session.add(source, { path: t.downloadDir, paused: true, maxDownloadRate: t.downLimit, maxUploadRate: t.upLimit });
    } catch (err) {
      this.log(`torrent ${t.id} (${t.infoHash}) could not be restored: ${(err as Error).message}`);
      return;
    }
    const entry = new TorrentEntry(t.id, t.infoHash, handle, t);
    this.track(entry);
    const meta = handle.metainfo;
    if (meta !== undefined) {
      entry.fitFiles(meta.info.files.filter((f) => !f.pad).length);
      await applyFileChoices(entry, {}).catch((err: unknown) => this.log(`torrent ${t.id}: its file choices could not be applied: ${(err as Error).message}`));
    }
    if (!entry.paused) handle.resume();
  }

  /** A fresh handle for an entry: after an error, or to check all data again. */
  private async reopen(entry: TorrentEntry, recheck: boolean): Promise<void> {
    const old = entry.handle;
    await old.remove();
    const bytes = await this.store.readTorrent(entry.infoHash);
    const source: string | Uint8Array | Metainfo | MagnetLink | undefined = bytes ?? old.metainfo ?? entry.magnet;
    if (source === undefined) throw new DaemonError('not-found', `torrent ${entry.id} has neither metainfo nor a magnet link`);
    const handle = await this.session.add(source, {
      path: entry.downloadDir,
      paused: true,
      maxDownloadRate: entry.downLimit,
      maxUploadRate: entry.upLimit,
      ...(recheck ? { recheck: true } : {}),
    });
    entry.replaceHandle(handle);
    entry.verifying = recheck;
    this.listen(entry);
    this.applySeed(entry);
    await applyFileChoices(entry, {});
    if (!entry.paused) handle.resume();
  }

  private track(entry: TorrentEntry): void {
    this.byId.set(entry.id, entry);
    this.byHash.set(entry.infoHash, entry);
    entry.handle.setRateLimits({ download: entry.downLimit, upload: entry.upLimit });
    this.listen(entry);
    this.applySeed(entry);
  }

  private applySeed(entry: TorrentEntry): void {
    entry.handle.setSeedLimits(entry.seedLimitsFor(this.seedDefaults));
  }

  /** The handle's events the daemon keeps: peers, tracker messages, completion, metadata, errors. */
  private listen(entry: TorrentEntry): void {
    const handle = entry.handle;
    const current = (): boolean => entry.handle === handle && this.byId.get(entry.id) === entry;
    handle.on('peer-connect', (a, info) => entry.peerConnected(a, !info.outgoing));
    handle.on('peer-disconnect', (a) => entry.peerDisconnected(a));
    handle.on('warning', (w) => {
      if (w.code === 'tracker') entry.trackerMessage = w.message;
    });
    handle.on('state', (s) => {
      if ((s === 'downloading' || s === 'seeding') && entry.activeSince === 0) entry.activeSince = this.clock.now();
      if (s === 'paused' || s === 'stopped' || s === 'error') entry.activeSince = 0;
      if (s !== 'checking' && s !== 'paused') entry.verifying = false;
    });
    handle.on('done', () => {
      if (!current()) return;
      if (entry.doneDate === 0) entry.doneDate = Math.floor(this.clock.now() / 1000);
      void this.save().catch(() => undefined);
    });
    handle.on('seeded', () => {
      if (!current()) return;
      // A seeding limit stopped it: it stays stopped across a restart, as Transmission's does.
      entry.paused = true;
      entry.finished = true;
      void this.save().catch(() => undefined);
    });
    handle.on('metadata', (meta) => {
      if (!current()) return;
      // The ratio left depends on the size, known only now.
      this.applySeed(entry);
      entry.fitFiles(meta.info.files.filter((f) => !f.pad).length);
      applyFileChoices(entry, {}).catch((err: unknown) => this.log(`torrent ${entry.id}: its file choices could not be applied: ${(err as Error).message}`));
      void this.store
        .saveTorrent(entry.infoHash, handle.torrentFile ?? torrentBytesOf(meta))
        .then(() => this.save())
        .catch((err: unknown) => this.log(`torrent ${entry.id}: cannot save its metainfo: ${(err as Error).message}`));
    });
    handle.on('error', (err) => {
      entry.errorString = err.message;
    });
  }
}
