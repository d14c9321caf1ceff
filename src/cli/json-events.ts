/**
 * `--json`: one JSON object per line on standard output, for scripts. The schema is in
 * README.md ("Scripting"); every object has `event` and `time`, and the fields of each event
 * are listed in `JsonEvent`. Strings that came from strangers (names, tracker messages, ban
 * reasons) pass through `safeText`, so a line never carries a control character; JSON itself
 * escapes the rest.
 */
import type { Metainfo } from '../metainfo/types.js';
import type { TorrentHandle, TorrentProgress } from '../session/handle.js';
import { safeText } from './context.js';

interface Base {
  /** Hex info hash (absent only before a bare source is resolved). */
  readonly infoHash?: string;
}

export interface JsonFile {
  readonly index: number;
  readonly path: string;
  readonly length: number;
  readonly selected?: boolean;
}

export type JsonEvent = Base &
  (
    | { readonly event: 'started'; readonly source: 'torrent' | 'magnet'; readonly output: string; readonly name?: string }
    | { readonly event: 'metadata'; readonly name: string; readonly length: number; readonly pieceLength: number; readonly pieceCount: number; readonly files: readonly JsonFile[] }
    | {
        readonly event: 'progress';
        readonly state: string;
        /** Verified fraction, 0 to 1. */
        readonly fraction: number;
        readonly verifiedBytes: number;
        readonly totalBytes: number;
        readonly downloaded: number;
        /** Part of `downloaded` that came from web seeds (BEP 19). */
        readonly webSeedBytes: number;
        readonly uploaded: number;
        /** Bytes per second. */
        readonly downRate: number;
        readonly upRate: number;
        readonly peers: number;
        readonly knownPeers: number;
        /** Seconds; null when nothing arrives (or when seeding). */
        readonly eta: number | null;
      }
    | { readonly event: 'piece-failed'; readonly piece: number; readonly hashFailures: number }
    | { readonly event: 'peer-banned'; readonly peer: string; readonly reason: string }
    | { readonly event: 'tracker-error'; readonly message: string }
    | { readonly event: 'done'; readonly name: string; readonly output: string; readonly totalBytes: number; readonly seconds: number }
    | { readonly event: 'stream'; readonly urls: readonly string[] }
    | { readonly event: 'error'; readonly exitCode: number; readonly message: string }
  );

/** The events every `--json` stream may carry, in README order. */
export const JSON_EVENT_NAMES = ['started', 'metadata', 'progress', 'piece-failed', 'peer-banned', 'tracker-error', 'done', 'stream', 'error'] as const;

const STRANGER_FIELDS = new Set(['name', 'message', 'reason', 'path', 'source', 'output', 'peer']);

export class JsonLines {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly now: () => number = Date.now,
  ) {}

  emit(ev: JsonEvent): void {
    const clean: Record<string, unknown> = { event: ev.event, time: new Date(this.now()).toISOString() };
    for (const [k, v] of Object.entries(ev)) {
      if (k === 'event' || v === undefined) continue;
      if (typeof v === 'string' && STRANGER_FIELDS.has(k)) clean[k] = safeText(v);
      else if (k === 'files') clean[k] = (v as JsonFile[]).map((f) => ({ ...f, path: safeText(f.path) }));
      else if (typeof v === 'number' && !Number.isFinite(v)) clean[k] = null;
      else clean[k] = v;
    }
    this.out.write(`${JSON.stringify(clean)}\n`);
  }
}

export function progressEvent(p: TorrentProgress): JsonEvent {
  return {
    event: 'progress',
    infoHash: p.infoHash,
    state: p.state,
    fraction: Math.round(p.fraction * 1e6) / 1e6,
    verifiedBytes: p.bytesVerified,
    totalBytes: p.totalBytes,
    downloaded: p.downloaded,
    webSeedBytes: p.webSeedBytes,
    uploaded: p.uploaded,
    downRate: Math.round(p.downRate),
    upRate: Math.round(p.upRate),
    peers: p.peers,
    knownPeers: p.knownPeers,
    eta: p.state === 'seeding' || !Number.isFinite(p.etaSeconds) ? null : Math.round(p.etaSeconds),
  };
}

function metadataEvent(infoHash: string, meta: Metainfo): JsonEvent {
  const info = meta.info;
  const files = info.files.filter((f) => !f.pad);
  return {
    event: 'metadata',
    infoHash,
    name: info.name,
    length: info.length,
    pieceLength: info.pieceLength,
    pieceCount: info.pieceCount,
    files: files.map((f, index) => ({ index, path: (info.multiFile ? [info.name, ...f.path] : f.path).join('/'), length: f.length })),
  };
}

/**
 * The events of one torrent as JSON lines: `started` now, `metadata` (at once for a .torrent),
 * `progress` about once a second, `piece-failed` for each piece that fails its hash, `peer-banned`
 * and `tracker-error` from its warnings. `done` and `error` are the caller's, which knows the
 * outcome.
 */
export function watchJson(handle: TorrentHandle, json: JsonLines, source: 'torrent' | 'magnet', output: string, opts: { seedAfterDone: boolean }): void {
  const infoHash = handle.infoHash;
  // A download that ends at completion says `done` last: a progress tick between the last
  // verified piece and the exit would otherwise follow it.
  let quiet = false;
  if (!opts.seedAfterDone) handle.once('done', () => (quiet = true));
  json.emit({ event: 'started', infoHash, source, output, ...(handle.name !== undefined ? { name: handle.name } : {}) });
  if (handle.metainfo !== undefined) json.emit(metadataEvent(infoHash, handle.metainfo));
  else handle.once('metadata', (meta) => json.emit(metadataEvent(infoHash, meta)));
  handle.on('piece-failed', (piece) => json.emit({ event: 'piece-failed', infoHash, piece, hashFailures: handle.stats().hashFailures }));
  handle.on('progress', (p) => {
    if (!quiet) json.emit(progressEvent(p));
  });
  handle.on('warning', (w) => {
    if (w.code === 'peer-banned') json.emit({ event: 'peer-banned', infoHash, peer: w.peer === undefined ? '?' : `${w.peer.host}:${w.peer.port}`, reason: w.message });
    else json.emit({ event: 'tracker-error', infoHash, message: w.message });
  });
}
