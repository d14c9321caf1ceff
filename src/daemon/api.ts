/**
 * Tessera's own HTTP API, what the web interface uses (documented in the README). JSON in and
 * out; torrents are named by their hex info hash. `GET /api/events` is a server-sent event
 * stream: a `torrents` event with every torrent's summary at once and then every second.
 *
 *   GET    /api/session                      settings and totals
 *   POST   /api/session                      { downloadLimit?, uploadLimit? } bytes/s, 0 = none
 *   GET    /api/torrents                     summaries
 *   POST   /api/torrents                     { magnet } | { metainfo: base64 }, with downloadDir?, paused?
 *   GET    /api/torrents/<hash>              summary with files, peers and trackers
 *   POST   /api/torrents/<hash>/pause | /resume | /verify
 *   POST   /api/torrents/<hash>/files        { wanted?, unwanted?, high?, normal?, low? } file indexes
 *   POST   /api/torrents/<hash>/limits       { download?, upload? } bytes/s, 0 = none
 *   DELETE /api/torrents/<hash>[?deleteData=1]
 *   GET    /api/events                       text/event-stream
 */
import type { ServerResponse } from 'node:http';
import type { Daemon } from './daemon.js';
import type { TorrentEntry } from './entry.js';
import { DaemonError } from './errors.js';
import { filesOf, magnetOf, trackersOf, viewOf } from './view.js';

export interface ApiRequest {
  readonly method: string;
  /** The path below /api, e.g. `/torrents/<hash>/pause`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The parsed JSON body (POST), or undefined. */
  readonly body: unknown;
}

export interface ApiResult {
  readonly status: number;
  readonly json: unknown;
}

/** Open event streams at most (each costs a summary of every torrent per second). */
const MAX_EVENT_STREAMS = 32;
const EVENT_INTERVAL_MS = 1000;

export function summaryOf(e: TorrentEntry): Record<string, unknown> {
  const v = viewOf(e);
  const check = e.handle.stats().startCheck;
  return {
    id: e.id,
    infoHash: e.infoHash,
    name: v.name,
    state: v.state,
    paused: e.paused,
    progress: v.percentDone,
    sizeWhenDone: v.sizeWhenDone,
    left: v.leftUntilDone,
    totalSize: v.totalSize,
    downRate: v.rateDownload,
    upRate: v.rateUpload,
    peers: v.peersConnected,
    eta: v.eta,
    error: v.errorString,
    downloadDir: e.downloadDir,
    downloadLimit: e.downLimit,
    uploadLimit: e.upLimit,
    downloaded: e.downloadedEver,
    uploaded: e.uploadedEver,
    addedDate: e.addedDate,
    doneDate: e.doneDate,
    metadataProgress: v.metadataPercentComplete,
    /** How the last start found the data: pieces trusted from the resume record, pieces read. */
    startCheck: check === undefined ? null : { trusted: check.trusted, checked: check.checked },
  };
}

function detailOf(e: TorrentEntry): Record<string, unknown> {
  return {
    ...summaryOf(e),
    magnet: magnetOf(e),
    files: filesOf(e),
    peers: [...e.peers.values()],
    trackers: trackersOf(e).map((t) => ({ ...t, message: e.trackerMessage })),
  };
}

const bad = (message: string): DaemonError => new DaemonError('bad-request', message);

function obj(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function rate(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad(`'${name}' must be a whole number of bytes per second ≥ 0`);
  return v as number;
}

function indexes(v: unknown, name: string): number[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 1_000_000 || !v.every((i) => Number.isSafeInteger(i) && i >= 0)) throw bad(`'${name}' must be a list of file indexes`);
  return v as number[];
}

/** Answer one API request (not the event stream). */
export async function handleApi(daemon: Daemon, version: string, req: ApiRequest): Promise<ApiResult> {
  const parts = req.path.split('/').filter((p) => p !== '');
  const ok = (json: unknown, status = 200): ApiResult => ({ status, json });
  if (parts[0] === 'session' && parts.length === 1) {
    if (req.method === 'GET') {
      const l = daemon.sessionLimits;
      return ok({ version, downloadDir: daemon.downloadDir, downloadLimit: l.down, uploadLimit: l.up, peerPort: daemon.session.port, torrents: daemon.list().length });
    }
    if (req.method === 'POST') {
      const b = obj(req.body);
      const down = rate(b.downloadLimit, 'downloadLimit');
      const up = rate(b.uploadLimit, 'uploadLimit');
      await daemon.setSessionLimits({ ...(down !== undefined ? { down } : {}), ...(up !== undefined ? { up } : {}) });
      return ok({});
    }
  }
  if (parts[0] === 'torrents' && parts.length === 1) {
    if (req.method === 'GET') return ok(daemon.list().map(summaryOf));
    if (req.method === 'POST') {
      const b = obj(req.body);
      let source;
      if (typeof b.magnet === 'string' && b.metainfo === undefined) source = { kind: 'magnet' as const, link: b.magnet };
      else if (typeof b.metainfo === 'string' && b.magnet === undefined && /^[A-Za-z0-9+/=]*$/.test(b.metainfo)) source = { kind: 'metainfo' as const, bytes: Buffer.from(b.metainfo, 'base64') };
      else throw bad("give either 'magnet' (a magnet link) or 'metainfo' (a .torrent file in base64)");
      if (b.downloadDir !== undefined && typeof b.downloadDir !== 'string') throw bad("'downloadDir' must be a string");
      if (b.paused !== undefined && typeof b.paused !== 'boolean') throw bad("'paused' must be true or false");
      const { entry, duplicate } = await daemon.add({
        source,
        ...(typeof b.downloadDir === 'string' ? { downloadDir: b.downloadDir } : {}),
        ...(typeof b.paused === 'boolean' ? { paused: b.paused } : {}),
      });
      return ok({ duplicate, torrent: summaryOf(entry) }, duplicate ? 200 : 201);
    }
  }
  if (parts[0] === 'torrents' && parts.length >= 2) {
    const entry = /^[0-9a-fA-F]{40}$/.test(parts[1]!) ? daemon.getByHash(parts[1]!) : undefined;
    if (entry === undefined) throw new DaemonError('not-found', 'no such torrent');
    const action = parts[2];
    if (parts.length === 2 && req.method === 'GET') return ok(detailOf(entry));
    if (parts.length === 2 && req.method === 'DELETE') {
      const del = req.query.get('deleteData');
      await daemon.remove(entry, del === '1' || del === 'true');
      return ok({});
    }
    if (parts.length === 3 && req.method === 'POST') {
      const b = obj(req.body);
      switch (action) {
        case 'pause':
          await daemon.stop(entry);
          return ok(summaryOf(entry));
        case 'resume':
          await daemon.start(entry);
          return ok(summaryOf(entry));
        case 'verify':
          await daemon.verify(entry);
          return ok(summaryOf(entry));
        case 'limits': {
          const down = rate(b.download, 'download');
          const up = rate(b.upload, 'upload');
          await daemon.setTorrentLimits(entry, { ...(down !== undefined ? { down } : {}), ...(up !== undefined ? { up } : {}) });
          return ok(summaryOf(entry));
        }
        case 'files': {
          const choices = {
            wanted: indexes(b.wanted, 'wanted'),
            unwanted: indexes(b.unwanted, 'unwanted'),
            high: indexes(b.high, 'high'),
            normal: indexes(b.normal, 'normal'),
            low: indexes(b.low, 'low'),
          };
          await daemon.setFiles(entry, Object.fromEntries(Object.entries(choices).filter(([, v]) => v !== undefined)));
          return ok(detailOf(entry));
        }
      }
    }
  }
  throw new DaemonError('not-found', `no such endpoint: ${req.method} /api${req.path}`);
}

/** The server-sent event streams: each gets every torrent's summary now and once a second. */
export class EventStreams {
  private readonly streams = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly daemon: Daemon) {}

  /** Take a response as a stream; false when there are too many already. */
  open(res: ServerResponse): boolean {
    if (this.streams.size >= MAX_EVENT_STREAMS) return false;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    this.streams.add(res);
    res.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stopTimer();
    });
    res.write(this.frame());
    this.timer ??= setInterval(() => this.broadcast(), EVENT_INTERVAL_MS);
    return true;
  }

  close(): void {
    this.stopTimer();
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  private frame(): string {
    return `event: torrents\ndata: ${JSON.stringify(this.daemon.list().map(summaryOf))}\n\n`;
  }

  private broadcast(): void {
    const frame = this.frame();
    // A client that does not read is dropped rather than buffered without bound.
    for (const res of this.streams) {
      if (res.writableLength > 4 * 1024 * 1024) res.destroy();
      else res.write(frame);
    }
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
