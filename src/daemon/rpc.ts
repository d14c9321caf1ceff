/**
 * Transmission's RPC (the subset its own transmission-remote, its web client and the media
 * tools use), over the daemon. A request is `{ method, arguments?, tag? }`; the answer is
 * `{ result, arguments, tag }` where `result` is "success" or a one-line reason. Every failure
 * — unknown method, arguments of the wrong type, a path outside the allowed folders — is such
 * a result, never a crash. Speeds are in kB/s of 1000 bytes, as Transmission counts them.
 */
import { statfs } from 'node:fs/promises';
import type { Daemon } from './daemon.js';
import type { TorrentEntry } from './entry.js';
import { DaemonError } from './errors.js';
import type { FileChoices } from './files.js';
import { torrentGet, viewOf } from './rpc-fields.js';
import { insideRoots } from './security.js';
import { isRatio, isSeedMode, type SeedMode, type SessionSeed, type TorrentSeed } from './state.js';
import { ownEntry } from '../util/own.js';

/** The RPC version of Transmission 3.00, whose behaviour this follows. */
export const RPC_VERSION = 16;
const KB = 1000;

export interface RpcContext {
  readonly daemon: Daemon;
  readonly version: string;
  readonly sessionId: string;
  /** Asked by `session-close`: stop the daemon after answering. */
  readonly onClose?: () => void;
}

export interface RpcResponse {
  readonly result: string;
  readonly arguments: Record<string, unknown>;
  readonly tag?: number;
}

type Args = Record<string, unknown>;

const bad = (message: string): DaemonError => new DaemonError('bad-request', message);

function optBool(a: Args, key: string): boolean | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  throw bad(`'${key}' must be a boolean`);
}

function optCount(a: Args, key: string): number | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`'${key}' must be a whole number ≥ 0`);
  return v;
}

function optRatio(a: Args, key: string): number | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (!isRatio(v)) throw bad(`'${key}' must be a number ≥ 0`);
  return v;
}

function optMode(a: Args, key: string): SeedMode | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (!isSeedMode(v)) throw bad(`'${key}' must be 0 (the session's), 1 (this torrent's) or 2 (unlimited)`);
  return v;
}

/** The defined values of `o`, for a partial update. */
function defined<T extends object>(o: { [K in keyof T]: T[K] | undefined }): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function optString(a: Args, key: string): string | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`'${key}' must be a string`);
  return v;
}

function optIndexes(a: Args, key: string): number[] | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 1_000_000 || !v.every((i) => Number.isSafeInteger(i) && i >= 0)) throw bad(`'${key}' must be a list of file indexes`);
  return v as number[];
}

function fileChoices(a: Args): FileChoices | undefined {
  const c = {
    wanted: optIndexes(a, 'files-wanted'),
    unwanted: optIndexes(a, 'files-unwanted'),
    high: optIndexes(a, 'priority-high'),
    normal: optIndexes(a, 'priority-normal'),
    low: optIndexes(a, 'priority-low'),
  };
  if (Object.values(c).every((v) => v === undefined)) return undefined;
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as FileChoices;
}

/** `ids`: absent (every torrent), an id, an info hash, "recently-active", or a list of ids and hashes. */
function select(daemon: Daemon, a: Args): TorrentEntry[] {
  const ids = a.ids;
  if (ids === undefined || ids === 'recently-active') return daemon.list();
  const one = (x: unknown): TorrentEntry | undefined => {
    if (typeof x === 'number') return daemon.get(x);
    if (typeof x === 'string' && /^[0-9a-fA-F]{40}$/.test(x)) return daemon.getByHash(x);
    throw bad("'ids' must hold torrent ids or info hashes");
  };
  const list = Array.isArray(ids) ? ids : [ids];
  if (list.length > 100_000) throw bad("'ids' is too long");
  const out = new Set<TorrentEntry>();
  for (const x of list) {
    const e = one(x);
    if (e !== undefined) out.add(e);
  }
  return [...out];
}

async function freeSpace(dir: string): Promise<number> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return -1;
  }
}

const ENCRYPTION_NAMES = { prefer: 'preferred', require: 'required', off: 'tolerated' } as const;

async function sessionFields(ctx: RpcContext): Promise<Record<string, unknown>> {
  const d = ctx.daemon;
  const s = d.settings;
  const lim = d.sessionLimits;
  return {
    'alt-speed-down': 0,
    'alt-speed-enabled': false,
    'alt-speed-time-begin': 540,
    'alt-speed-time-day': 127,
    'alt-speed-time-enabled': false,
    'alt-speed-time-end': 1020,
    'alt-speed-up': 0,
    'blocklist-enabled': false,
    'blocklist-size': 0,
    'blocklist-url': '',
    'cache-size-mb': 4,
    'config-dir': '',
    'dht-enabled': s.dht,
    'download-dir': d.downloadDir,
    'download-dir-free-space': await freeSpace(d.downloadDir),
    'download-queue-enabled': false,
    'download-queue-size': 5,
    encryption: ENCRYPTION_NAMES[s.encryption],
    'idle-seeding-limit': d.sessionSeed.idleMinutes,
    'idle-seeding-limit-enabled': d.sessionSeed.idleLimited,
    'incomplete-dir': d.downloadDir,
    'incomplete-dir-enabled': false,
    'lpd-enabled': false,
    'peer-limit-global': 200,
    'peer-limit-per-torrent': 60,
    'peer-port': d.session.port,
    'peer-port-random-on-start': false,
    'pex-enabled': true,
    'port-forwarding-enabled': false,
    'queue-stalled-enabled': false,
    'queue-stalled-minutes': 30,
    'rename-partial-files': false,
    'rpc-version': RPC_VERSION,
    'rpc-version-minimum': 1,
    'script-torrent-done-enabled': false,
    'script-torrent-done-filename': '',
    seedRatioLimit: d.sessionSeed.ratio,
    seedRatioLimited: d.sessionSeed.ratioLimited,
    'seed-queue-enabled': false,
    'seed-queue-size': 10,
    'session-id': ctx.sessionId,
    'speed-limit-down': Math.round(lim.down / KB),
    'speed-limit-down-enabled': lim.down > 0,
    'speed-limit-up': Math.round(lim.up / KB),
    'speed-limit-up-enabled': lim.up > 0,
    'start-added-torrents': d.startAddedTorrents,
    'trash-original-torrent-files': false,
    units: {
      'speed-units': ['kB/s', 'MB/s', 'GB/s', 'TB/s'],
      'speed-bytes': KB,
      'size-units': ['kB', 'MB', 'GB', 'TB'],
      'size-bytes': KB,
      'memory-units': ['KiB', 'MiB', 'GiB', 'TiB'],
      'memory-bytes': 1024,
    },
    'utp-enabled': false,
    version: ctx.version,
  };
}

/**
 * A speed limit in bytes per second from Transmission's pair (kB/s value, on/off flag), or
 * undefined for no change: off is no limit; a value applies when it comes with "on" or while
 * a limit is on (a value sent alone for a limit that is off is not kept).
 */
function limitOf(a: Args, value: string, enabled: string, current: number): number | undefined {
  const kb = optCount(a, value);
  const on = optBool(a, enabled);
  if (on === false) return 0;
  if (kb !== undefined && (on === true || current > 0)) return kb * KB;
  return undefined;
}

type Method = (ctx: RpcContext, a: Args) => Promise<Record<string, unknown>>;

const startTorrents: Method = async (ctx, a) => {
  for (const e of select(ctx.daemon, a)) await ctx.daemon.start(e);
  return {};
};

const METHODS: Readonly<Record<string, Method>> = {
  'session-get': async (ctx, a) => {
    const all = await sessionFields(ctx);
    const fields = a.fields;
    if (!Array.isArray(fields)) return all;
    return Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k)));
  },
  'session-set': async (ctx, a) => {
    const d = ctx.daemon;
    const dir = optString(a, 'download-dir');
    if (dir !== undefined) await d.setDownloadDir(dir);
    const start = optBool(a, 'start-added-torrents');
    if (start !== undefined) await d.setStartAddedTorrents(start);
    const cur = d.sessionLimits;
    const down = limitOf(a, 'speed-limit-down', 'speed-limit-down-enabled', cur.down);
    const up = limitOf(a, 'speed-limit-up', 'speed-limit-up-enabled', cur.up);
    if (down !== undefined || up !== undefined) await d.setSessionLimits({ ...(down !== undefined ? { down } : {}), ...(up !== undefined ? { up } : {}) });
    const seed = defined<SessionSeed>({
      ratio: optRatio(a, 'seedRatioLimit'),
      ratioLimited: optBool(a, 'seedRatioLimited'),
      idleMinutes: optCount(a, 'idle-seeding-limit'),
      idleLimited: optBool(a, 'idle-seeding-limit-enabled'),
    });
    if (Object.keys(seed).length > 0) await d.setSessionSeed(seed);
    return {};
  },
  'session-stats': async (ctx) => {
    const list = ctx.daemon.list();
    let down = 0;
    let up = 0;
    let downEver = 0;
    let upEver = 0;
    let active = 0;
    for (const e of list) {
      const st = e.handle.stats();
      down += st.downRate;
      up += st.upRate;
      downEver += e.downloadedEver;
      upEver += e.uploadedEver;
      if (st.downRate > 0 || st.upRate > 0) active++;
    }
    const secondsActive = Math.floor((Date.now() - ctx.daemon.startedAt) / 1000);
    const stats = { uploadedBytes: upEver, downloadedBytes: downEver, filesAdded: list.length, sessionCount: 1, secondsActive };
    return {
      activeTorrentCount: active,
      pausedTorrentCount: list.filter((e) => e.paused).length,
      torrentCount: list.length,
      downloadSpeed: Math.round(down),
      uploadSpeed: Math.round(up),
      'cumulative-stats': stats,
      'current-stats': stats,
    };
  },
  'session-close': async (ctx) => {
    if (ctx.onClose === undefined) throw bad('session-close is not available');
    setImmediate(ctx.onClose);
    return {};
  },
  'free-space': async (ctx, a) => {
    const p = optString(a, 'path') ?? ctx.daemon.downloadDir;
    const dir = await insideRoots(p, ctx.daemon.roots);
    if (dir === undefined) throw new DaemonError('path-not-allowed', `'${p}' is not inside an allowed folder`);
    return { path: p, 'size-bytes': await freeSpace(dir) };
  },
  'torrent-get': async (ctx, a) => {
    const fields = a.fields;
    if (!Array.isArray(fields) || fields.length > 1000 || !fields.every((f) => typeof f === 'string')) throw bad("'fields' must be a list of field names");
    const format = a.format ?? 'objects';
    if (format !== 'objects' && format !== 'table') throw bad("'format' must be objects or table");
    const views = select(ctx.daemon, a).map(viewOf);
    const out: Record<string, unknown> = { torrents: torrentGet(views, fields as string[], format === 'table', Date.now()) };
    if (a.ids === 'recently-active') out.removed = ctx.daemon.recentlyRemoved();
    return out;
  },
  'torrent-add': async (ctx, a) => {
    const filename = optString(a, 'filename');
    const metainfo = optString(a, 'metainfo');
    if ((filename === undefined) === (metainfo === undefined)) throw bad("torrent-add wants either 'filename' or 'metainfo'");
    let source;
    if (metainfo !== undefined) {
      if (metainfo.length > 20_000_000 || !/^[A-Za-z0-9+/=\r\n]*$/.test(metainfo)) throw bad("'metainfo' must be base64");
      source = { kind: 'metainfo' as const, bytes: Buffer.from(metainfo, 'base64') };
    } else if (/^magnet:/i.test(filename!)) source = { kind: 'magnet' as const, link: filename! };
    else if (/^https?:\/\//i.test(filename!)) source = { kind: 'url' as const, url: filename! };
    else source = { kind: 'file' as const, path: filename! };
    const dir = optString(a, 'download-dir');
    const paused = optBool(a, 'paused');
    const files = fileChoices(a);
    const { entry, duplicate } = await ctx.daemon.add({
      source,
      ...(dir !== undefined ? { downloadDir: dir } : {}),
      ...(paused !== undefined ? { paused } : {}),
      ...(files !== undefined ? { files } : {}),
    });
    const v = viewOf(entry);
    return { [duplicate ? 'torrent-duplicate' : 'torrent-added']: { id: entry.id, name: v.name, hashString: entry.infoHash } };
  },
  // No queue here: starting "now" is starting.
  'torrent-start': startTorrents,
  'torrent-start-now': startTorrents,
  'torrent-stop': async (ctx, a) => {
    for (const e of select(ctx.daemon, a)) await ctx.daemon.stop(e);
    return {};
  },
  'torrent-verify': async (ctx, a) => {
    for (const e of select(ctx.daemon, a)) await ctx.daemon.verify(e);
    return {};
  },
  'torrent-remove': async (ctx, a) => {
    const del = optBool(a, 'delete-local-data') ?? false;
    for (const e of select(ctx.daemon, a)) await ctx.daemon.remove(e, del);
    return {};
  },
  'torrent-set': async (ctx, a) => {
    const files = fileChoices(a);
    const seed = defined<TorrentSeed>({
      ratioMode: optMode(a, 'seedRatioMode'),
      ratio: optRatio(a, 'seedRatioLimit'),
      idleMode: optMode(a, 'seedIdleMode'),
      idleMinutes: optCount(a, 'seedIdleLimit'),
    });
    for (const e of select(ctx.daemon, a)) {
      if (Object.keys(seed).length > 0) await ctx.daemon.setTorrentSeed(e, seed);
      const down = limitOf(a, 'downloadLimit', 'downloadLimited', e.downLimit);
      const up = limitOf(a, 'uploadLimit', 'uploadLimited', e.upLimit);
      if (down !== undefined || up !== undefined) await ctx.daemon.setTorrentLimits(e, { ...(down !== undefined ? { down } : {}), ...(up !== undefined ? { up } : {}) });
      if (files !== undefined) await ctx.daemon.setFiles(e, files);
    }
    return {};
  },
};

/** Answer one parsed request body. */
export async function handleRpc(ctx: RpcContext, body: unknown): Promise<RpcResponse> {
  const req = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const tag = typeof req?.tag === 'number' && Number.isSafeInteger(req.tag) ? req.tag : undefined;
  const answer = (result: string, args: Record<string, unknown> = {}): RpcResponse => ({ result, arguments: args, ...(tag !== undefined ? { tag } : {}) });
  if (req === undefined || typeof req.method !== 'string') return answer('no method name');
  const method = ownEntry(METHODS, req.method);
  if (method === undefined) return answer('method name not recognized');
  const args = req.arguments ?? {};
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return answer("'arguments' must be an object");
  try {
    return answer('success', await method(ctx, args as Args));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return answer(msg.split('\n')[0] ?? 'error');
  }
}
