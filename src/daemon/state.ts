/**
 * What the daemon keeps in its config folder so that a restart, even after `kill -9`, carries
 * on where it was:
 *   state.json             the torrent list: id, folder, paused, limits, file choices, dates
 *   torrents/<hash>.torrent the metainfo of each torrent (for a magnet link, once fetched)
 *   resume/                 the session's resume records (verified pieces per torrent)
 * state.json is replaced atomically (written aside, then renamed), so a crash leaves either
 * the old list or the new one, never half of one.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SavedTorrent {
  readonly id: number;
  readonly infoHash: string;
  /** The magnet link, for a torrent whose metadata had not arrived when it was saved. */
  readonly magnet?: string;
  readonly downloadDir: string;
  readonly paused: boolean;
  /** Unix seconds. */
  readonly addedDate: number;
  readonly doneDate: number;
  /** Limits in bytes per second; 0: none. */
  readonly downLimit: number;
  readonly upLimit: number;
  /** Per file (non-pad files, in order): wanted, and priority -1 low, 0 normal, 1 high. */
  readonly wanted?: readonly boolean[];
  readonly priorities?: readonly number[];
  readonly downloadedEver: number;
  readonly uploadedEver: number;
  /** When to stop seeding (Transmission's per-torrent modes); absent: the session's limits. */
  readonly seed?: TorrentSeed;
}

export interface SavedState {
  readonly nextId: number;
  readonly torrents: readonly SavedTorrent[];
  /** Session limits in bytes per second (0: none), as set over RPC. */
  readonly maxDown?: number;
  readonly maxUp?: number;
  readonly downloadDir?: string;
  readonly startAddedTorrents?: boolean;
  readonly seed?: SessionSeed;
}

const MAX_STATE_BYTES = 64 * 1024 * 1024;
const HEX40 = /^[0-9a-f]{40}$/;

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** One saved torrent, or undefined when the entry is unusable (it is then left out). */
function checkTorrent(v: unknown): SavedTorrent | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const t = v as Record<string, unknown>;
  if (!isCount(t.id) || typeof t.infoHash !== 'string' || !HEX40.test(t.infoHash)) return undefined;
  if (typeof t.downloadDir !== 'string' || !path.isAbsolute(t.downloadDir)) return undefined;
  if (t.magnet !== undefined && typeof t.magnet !== 'string') return undefined;
  const wanted = Array.isArray(t.wanted) && t.wanted.every((w) => typeof w === 'boolean') ? (t.wanted as boolean[]) : undefined;
  const seed = checkTorrentSeed(t.seed);
  const priorities = Array.isArray(t.priorities) && t.priorities.every((p) => p === -1 || p === 0 || p === 1) ? (t.priorities as number[]) : undefined;
  return {
    id: t.id,
    infoHash: t.infoHash,
    ...(typeof t.magnet === 'string' ? { magnet: t.magnet } : {}),
    downloadDir: t.downloadDir,
    paused: t.paused === true,
    addedDate: isCount(t.addedDate) ? t.addedDate : 0,
    doneDate: isCount(t.doneDate) ? t.doneDate : 0,
    downLimit: isCount(t.downLimit) ? t.downLimit : 0,
    upLimit: isCount(t.upLimit) ? t.upLimit : 0,
    ...(wanted !== undefined ? { wanted } : {}),
    ...(priorities !== undefined ? { priorities } : {}),
    downloadedEver: isCount(t.downloadedEver) ? t.downloadedEver : 0,
    uploadedEver: isCount(t.uploadedEver) ? t.uploadedEver : 0,
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** Transmission's modes: 0 the session's limit, 1 this torrent's, 2 none. */
export type SeedMode = 0 | 1 | 2;

export interface TorrentSeed {
  readonly ratioMode: SeedMode;
  readonly ratio: number;
  readonly idleMode: SeedMode;
  readonly idleMinutes: number;
}

export interface SessionSeed {
  readonly ratio: number;
  readonly ratioLimited: boolean;
  readonly idleMinutes: number;
  readonly idleLimited: boolean;
}

export const isSeedMode = (v: unknown): v is SeedMode => v === 0 || v === 1 || v === 2;
export const isRatio = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function checkTorrentSeed(v: unknown): TorrentSeed | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const s = v as Record<string, unknown>;
  if (!isSeedMode(s.ratioMode) || !isRatio(s.ratio) || !isSeedMode(s.idleMode) || !isCount(s.idleMinutes)) return undefined;
  return { ratioMode: s.ratioMode, ratio: s.ratio, idleMode: s.idleMode, idleMinutes: s.idleMinutes };
}

function checkSessionSeed(v: unknown): SessionSeed | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const s = v as Record<string, unknown>;
  if (!isRatio(s.ratio) || typeof s.ratioLimited !== 'boolean' || !isCount(s.idleMinutes) || typeof s.idleLimited !== 'boolean') return undefined;
  return { ratio: s.ratio, ratioLimited: s.ratioLimited, idleMinutes: s.idleMinutes, idleLimited: s.idleLimited };
}

export class StateStore {
  private readonly file: string;
  private writing: Promise<void> = Promise.resolve();
  private pending: (() => SavedState) | undefined;

  constructor(readonly configDir: string) {
    this.file = path.join(configDir, 'state.json');
  }

  get resumeDir(): string {
    return path.join(this.configDir, 'resume');
  }

  torrentPath(infoHash: string): string {
    return path.join(this.configDir, 'torrents', `${infoHash}.torrent`);
  }

  /** The saved state; an empty one when there is none. A damaged file is an error (it is never overwritten unread). */
  async load(): Promise<SavedState> {
    let text: string;
    try {
      const buf = await readFile(this.file);
      if (buf.length > MAX_STATE_BYTES) throw new Error('state.json is larger than 64 MiB');
      text = buf.toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { nextId: 1, torrents: [] };
      throw err;
    }
    const raw = JSON.parse(text) as Record<string, unknown>;
    const torrents = (Array.isArray(raw.torrents) ? raw.torrents : []).map(checkTorrent).filter((t): t is SavedTorrent => t !== undefined);
    const maxId = torrents.reduce((m, t) => Math.max(m, t.id), 0);
    const seed = checkSessionSeed(raw.seed);
    return {
      nextId: Math.max(isCount(raw.nextId) ? raw.nextId : 1, maxId + 1),
      torrents,
      ...(isCount(raw.maxDown) ? { maxDown: raw.maxDown } : {}),
      ...(isCount(raw.maxUp) ? { maxUp: raw.maxUp } : {}),
      ...(typeof raw.downloadDir === 'string' && path.isAbsolute(raw.downloadDir) ? { downloadDir: raw.downloadDir } : {}),
      ...(typeof raw.startAddedTorrents === 'boolean' ? { startAddedTorrents: raw.startAddedTorrents } : {}),
      ...(seed !== undefined ? { seed } : {}),
    };
  }

  /**
   * Write the state `snapshot()` returns once the writes before it are done; resolves when a
   * write that includes this call's changes is on disk. Calls made meanwhile share one write.
   */
  save(snapshot: () => SavedState): Promise<void> {
    const first = this.pending === undefined;
    this.pending = snapshot;
    if (first) {
      this.writing = this.writing
        .catch(() => undefined)
        .then(async () => {
          const take = this.pending;
          this.pending = undefined;
          if (take !== undefined) await this.write(take());
        });
    }
    return this.writing;
  }

  private async write(state: SavedState): Promise<void> {
    await mkdir(this.configDir, { recursive: true });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state, null, 1)}\n`);
    await rename(tmp, this.file);
  }

  async saveTorrent(infoHash: string, bytes: Uint8Array): Promise<void> {
    const file = this.torrentPath(infoHash);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp`, bytes);
    await rename(`${file}.tmp`, file);
  }

  async readTorrent(infoHash: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.torrentPath(infoHash));
    } catch {
      return undefined;
    }
  }

  async dropTorrent(infoHash: string): Promise<void> {
    await rm(this.torrentPath(infoHash), { force: true });
  }
}
