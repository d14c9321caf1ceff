/**
 * What both HTTP faces show of a torrent, computed once from the handle and the entry: sizes
 * as Transmission counts them (only wanted files count towards "size when done"), a status,
 * files with their choices, peers and trackers.
 */
import { toMagnet } from '../metainfo/index.js';
import type { TorrentEntry } from './entry.js';

/** Transmission's status numbers. */
export const Status = { stopped: 0, checkWait: 1, checking: 2, downloadWait: 3, downloading: 4, seedWait: 5, seeding: 6 } as const;

export interface FileView {
  readonly index: number;
  readonly path: string;
  readonly length: number;
  readonly bytesCompleted: number;
  readonly wanted: boolean;
  /** -1 low, 0 normal, 1 high. */
  readonly priority: number;
}

export interface TorrentView {
  readonly entry: TorrentEntry;
  readonly name: string;
  readonly state: string;
  readonly status: number;
  readonly totalSize: number;
  readonly sizeWhenDone: number;
  readonly leftUntilDone: number;
  readonly haveValid: number;
  readonly percentDone: number;
  readonly metadataPercentComplete: number;
  readonly recheckProgress: number;
  readonly rateDownload: number;
  readonly rateUpload: number;
  readonly peersConnected: number;
  /** -1: not available (done), -2: unknown. */
  readonly eta: number;
  /** 0 none, 1 tracker warning, 3 local error (Transmission's numbers). */
  readonly error: number;
  readonly errorString: string;
  readonly pieceCount: number;
  readonly pieceSize: number;
}

export function filesOf(entry: TorrentEntry): FileView[] {
  return entry.handle.files().map((f, i) => ({
    index: i,
    path: f.path,
    length: f.length,
    bytesCompleted: f.verifiedBytes,
    wanted: entry.wanted?.[i] ?? true,
    priority: entry.priorities?.[i] ?? 0,
  }));
}

function statusOf(entry: TorrentEntry, state: string): number {
  switch (state) {
    case 'checking':
      return Status.checking;
    case 'metadata':
    case 'downloading':
      return Status.downloading;
    case 'seeding':
      return Status.seeding;
    default:
      return entry.verifying && !entry.paused ? Status.checkWait : Status.stopped;
  }
}

export function viewOf(entry: TorrentEntry): TorrentView {
  const h = entry.handle;
  const st = h.stats();
  const meta = h.metainfo;
  let sizeWhenDone = 0;
  let left = 0;
  if (meta !== undefined && entry.wanted?.includes(false) === true) {
    for (const f of filesOf(entry)) {
      if (!f.wanted) continue;
      sizeWhenDone += f.length;
      left += f.length - f.bytesCompleted;
    }
  } else if (meta !== undefined) {
    // Every file wanted: the session's counts are the torrent's, without a walk over its files.
    sizeWhenDone = meta.info.length;
    left = meta.info.length - st.bytesVerified;
  }
  const state = st.state;
  const error = state === 'error' ? 3 : entry.trackerMessage !== '' ? 1 : 0;
  const running = state === 'downloading' || state === 'metadata';
  return {
    entry,
    name: h.name ?? entry.infoHash,
    state,
    status: statusOf(entry, state),
    totalSize: meta?.info.length ?? 0,
    sizeWhenDone,
    leftUntilDone: left,
    haveValid: st.bytesVerified,
    percentDone: sizeWhenDone > 0 ? (sizeWhenDone - left) / sizeWhenDone : meta !== undefined ? 1 : 0,
    metadataPercentComplete: meta !== undefined ? 1 : st.metadata?.pieceCount ? st.metadata.piecesDone / st.metadata.pieceCount : 0,
    recheckProgress: state === 'checking' && st.pieceCount > 0 ? st.verified / st.pieceCount : 0,
    rateDownload: Math.round(st.downRate),
    rateUpload: Math.round(st.upRate),
    peersConnected: st.peers,
    eta: meta !== undefined && left === 0 ? -1 : running && st.downRate > 0 ? Math.round(left / st.downRate) : -2,
    error,
    errorString: error === 3 ? entry.errorString : error === 1 ? entry.trackerMessage : '',
    pieceCount: meta?.info.pieceCount ?? 0,
    pieceSize: meta?.info.pieceLength ?? 0,
  };
}

/** The torrent's magnet link: its own when it was added by one, else made from the metadata. */
export function magnetOf(entry: TorrentEntry): string {
  const meta = entry.handle.metainfo;
  if (entry.magnet !== undefined) return entry.magnet;
  if (meta === undefined) return `magnet:?xt=urn:btih:${entry.infoHash}`;
  return toMagnet(meta);
}

export interface TrackerView {
  readonly id: number;
  readonly tier: number;
  readonly announce: string;
  readonly host: string;
}

export function trackersOf(entry: TorrentEntry): TrackerView[] {
  const out: TrackerView[] = [];
  const tiers = entry.handle.metainfo?.announce ?? [];
  tiers.forEach((tier, t) => {
    for (const url of tier) {
      let host = url;
      try {
        host = new URL(url).host;
      } catch {
        // shown as given
      }
      out.push({ id: out.length, tier: t, announce: url, host });
    }
  });
  return out;
}
