/**
 * One torrent as the daemon keeps it: the session's handle plus what the daemon owns about
 * it (its RPC id, the user's wish to run or pause, limits, file choices, dates, the peers
 * connected now and the last tracker message), and how it is saved in state.json.
 */
import { encode } from '../bencode/index.js';
import type { Metainfo, PeerAddress } from '../metainfo/types.js';
import type { TorrentHandle } from '../session/handle.js';
import type { SeedLimits } from '../session/index.js';
import type { SavedTorrent, SessionSeed, TorrentSeed } from './state.js';

export interface ConnectedPeer {
  readonly host: string;
  readonly port: number;
  readonly incoming: boolean;
}

/** A new torrent follows the session's seeding limits (Transmission's defaults). */
export const DEFAULT_TORRENT_SEED: TorrentSeed = { ratioMode: 0, ratio: 2, idleMode: 0, idleMinutes: 30 };

/** Most peers remembered per torrent for display (the swarm's own cap is lower). */
const MAX_LISTED_PEERS = 500;

export class TorrentEntry {
  handle: TorrentHandle;
  downloadDir: string;
  /** The user's wish: a paused torrent stays paused across restarts. */
  paused: boolean;
  addedDate: number;
  doneDate: number;
  /** Bytes per second; 0: none. */
  downLimit: number;
  upLimit: number;
  wanted: boolean[] | undefined;
  priorities: number[] | undefined;
  magnet: string | undefined;
  /** The reason the torrent stopped with an error, if it did. */
  errorString = '';
  trackerMessage = '';
  /** Verifying from scratch (torrent-verify), until the check ends. */
  verifying = false;
  seed: TorrentSeed;
  /** Stopped by a seeding limit (Transmission's "Finished"), until started again. */
  finished = false;
  readonly peers = new Map<string, ConnectedPeer>();
  /** Transfer totals of earlier runs (the handle counts this run only). */
  private downloadedBase: number;
  private uploadedBase: number;
  /** When the current run started exchanging data, ms; for secondsDownloading/secondsSeeding. */
  activeSince = 0;

  constructor(
    readonly id: number,
    readonly infoHash: string,
    handle: TorrentHandle,
    saved: Omit<SavedTorrent, 'id' | 'infoHash'>,
  ) {
    this.handle = handle;
    this.downloadDir = saved.downloadDir;
    this.paused = saved.paused;
    this.addedDate = saved.addedDate;
    this.doneDate = saved.doneDate;
    this.downLimit = saved.downLimit;
    this.upLimit = saved.upLimit;
    this.wanted = saved.wanted?.slice();
    this.priorities = saved.priorities?.slice();
    this.magnet = saved.magnet;
    this.downloadedBase = saved.downloadedEver;
    this.uploadedBase = saved.uploadedEver;
    this.seed = saved.seed ?? DEFAULT_TORRENT_SEED;
  }

  /**
   * The handle's seeding limits under this torrent's modes and the session's limits. The ratio
   * counts every upload since the torrent was first added, as Transmission's does: the handle
   * counts its own, so the uploads of earlier handles are taken off what it still has to send.
   */
  seedLimitsFor(session: SessionSeed): SeedLimits {
    const s = this.seed;
    const ratio = s.ratioMode === 1 ? s.ratio : s.ratioMode === 0 && session.ratioLimited ? session.ratio : undefined;
    const idleMinutes = s.idleMode === 1 ? s.idleMinutes : s.idleMode === 0 && session.idleLimited ? session.idleMinutes : undefined;
    const size = this.handle.stats().totalBytes;
    return {
      ...(ratio !== undefined ? { ratio: size > 0 ? Math.max(0, ratio - this.uploadedBase / size) : ratio } : {}),
      ...(idleMinutes !== undefined ? { idleMs: idleMinutes * 60_000 } : {}),
    };
  }

  get downloadedEver(): number {
    return this.downloadedBase + this.handle.stats().downloaded;
  }

  get uploadedEver(): number {
    return this.uploadedBase + this.handle.stats().uploaded;
  }

  /** A new handle replaces the old one (verify, restart after an error): fold the old run's totals in first. */
  replaceHandle(handle: TorrentHandle): void {
    const st = this.handle.stats();
    this.downloadedBase += st.downloaded;
    this.uploadedBase += st.uploaded;
    this.handle = handle;
    this.peers.clear();
    this.errorString = '';
  }

  peerConnected(address: PeerAddress, incoming: boolean): void {
    if (this.peers.size < MAX_LISTED_PEERS) this.peers.set(`${address.host}|${address.port}`, { ...address, incoming });
  }

  peerDisconnected(address: PeerAddress): void {
    this.peers.delete(`${address.host}|${address.port}`);
  }

  /** The file choices sized to the torrent's files, once they are known. */
  fitFiles(count: number): void {
    if (this.wanted?.length !== count) this.wanted = Array.from({ length: count }, (_, i) => this.wanted?.[i] ?? true);
    if (this.priorities?.length !== count) this.priorities = Array.from({ length: count }, (_, i) => this.priorities?.[i] ?? 0);
  }

  toSaved(): SavedTorrent {
    return {
      id: this.id,
      infoHash: this.infoHash,
      ...(this.handle.metainfo === undefined && this.magnet !== undefined ? { magnet: this.magnet } : {}),
      downloadDir: this.downloadDir,
      paused: this.paused,
      addedDate: this.addedDate,
      doneDate: this.doneDate,
      downLimit: this.downLimit,
      upLimit: this.upLimit,
      ...(this.wanted !== undefined ? { wanted: this.wanted } : {}),
      ...(this.priorities !== undefined ? { priorities: this.priorities } : {}),
      downloadedEver: this.downloadedEver,
      uploadedEver: this.uploadedEver,
      ...(this.seed !== DEFAULT_TORRENT_SEED ? { seed: this.seed } : {}),
    };
  }
}

/**
 * A .torrent file for metadata we hold only parsed (fetched over http, or from a magnet's
 * peers): the info dictionary verbatim, so the info hash is the same, with the trackers and
 * web seeds around it.
 */
export function torrentBytesOf(meta: Metainfo): Buffer {
  const before: Record<string, unknown> = {};
  if (meta.announce.length > 0) {
    before.announce = meta.announce[0]![0]!;
    before['announce-list'] = meta.announce.map((tier) => [...tier]);
  }
  const head = encode(before as Parameters<typeof encode>[0]);
  const tail = meta.urlList.length > 0 ? encode({ 'url-list': [...meta.urlList] }) : Buffer.from('de');
  return Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), Buffer.from(meta.infoBytes), tail.subarray(1)]);
}
