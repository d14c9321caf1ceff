/**
 * One web seed (BEP 19): a peer-like source that has every piece (minus the files it turned
 * out not to have) and answers byte ranges over HTTP(S).
 *
 * It asks its host (the swarm) for blocks, as a peer's refill does, fetches them as ranged
 * GETs (plan.ts) at most `maxRequests` at a time, and hands each 16 KiB block to the host as
 * it completes, so a request holds at most one block of its own memory whatever its size.
 * Verification is the host's, as for a peer's blocks. Failures are judged by policy.ts:
 * while it rests or once it is dropped, its unfinished blocks are back with the picker.
 *
 * States: active -> resting (back-off timer) -> active; active|resting -> dropped (final).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { RequestGuard, type Resolver } from '../tracker/ssrf.js';
import { Bitfield } from '../util/bitfield.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { BLOCK_SIZE, type BlockRequest, type PeerKey } from '../swarm/picker-types.js';
import type { BlockSourceHost } from '../swarm/swarm-types.js';
import type { BandwidthLimit } from '../swarm/bandwidth.js';
import { WebSeedError } from './errors.js';
import { getRange, type RangeGetOptions } from './http.js';
import { RangePlanner, toRuns } from './plan.js';
import { Backoff, type BackoffOptions } from './policy.js';
import { fileUrl } from './url.js';

/** The torrent as a web seed sees it. */
export interface WebSeedTorrent {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly multiFile: boolean;
  /** The torrent's `name` as its bytes (or text when the bytes are not known). */
  readonly name: Uint8Array | string;
  /** In piece-space order; `urlPath` is the path below the top folder. */
  readonly files: readonly { readonly offset: number; readonly length: number; readonly pad: boolean; readonly urlPath: readonly (Uint8Array | string)[] }[];
}

export interface WebSeedOptions {
  readonly clock: Clock;
  /** Ms without a byte before a request is abandoned (default 20 s). */
  readonly stallMs?: number;
  /** Requests (connections) at once (default 4). */
  readonly maxRequests?: number;
  /** Bytes per request, whole pieces when they fit (default 4 MiB). */
  readonly maxRequestBytes?: number;
  readonly maxRedirects?: number;
  readonly backoff?: BackoffOptions;
  /** Extra certificate authorities trusted for HTTPS web seeds (PEM). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  readonly resolver?: Resolver;
  readonly userAgent?: string;
  /** The torrent's download limit (`--max-down`), shared with its peers. */
  readonly downLimit?: BandwidthLimit;
  /** It will not be used again: why, in one line. */
  readonly onDropped?: (url: string, reason: string) => void;
  /** A request failed and the seed rests or lost a file (a warning). */
  readonly onError?: (url: string, err: WebSeedError) => void;
}

export type WebSeedState = 'active' | 'resting' | 'dropped';

export interface WebSeedStats {
  readonly url: string;
  readonly state: WebSeedState;
  /** Body bytes received (pad zeros not counted). */
  readonly bytes: number;
  /** Ranged GETs sent (redirect hops not counted). */
  readonly requests: number;
  readonly failures: number;
}

const DEFAULT_STALL_MS = 20_000;
const DEFAULT_MAX_REQUESTS = 4;
const DEFAULT_MAX_REQUEST_BYTES = 4 << 20;
const ZEROS = Buffer.alloc(BLOCK_SIZE);

/** Node's `ca` replaces the bundled authorities: keep them, and add the caller's. */
function trusted(extra: NonNullable<WebSeedOptions['ca']>): (string | Buffer)[] {
  return [...rootCertificates, ...(typeof extra === 'string' || Buffer.isBuffer(extra) ? [extra] : extra)];
}

export class WebSeed {
  readonly url: string;
  readonly key: PeerKey;
  private readonly base: URL;
  private readonly host: BlockSourceHost;
  private readonly torrent: WebSeedTorrent;
  private readonly planner: RangePlanner;
  private readonly opts: WebSeedOptions;
  private readonly backoff: Backoff;
  private readonly agents: RangeGetOptions['agents'];
  private readonly has: Bitfield;
  private readonly missingFiles = new Set<number>();
  private state: WebSeedState = 'active';
  private jobs = 0;
  /** Aborts every request in flight (a drop, a lost file, stopping). */
  private abort = new AbortController();
  private restTimer: TimerHandle | undefined;
  private bytes = 0;
  private requests = 0;
  private failures = 0;

  constructor(url: URL, torrent: WebSeedTorrent, host: BlockSourceHost, planner: RangePlanner, opts: WebSeedOptions) {
    this.url = url.href;
    this.base = url;
    this.key = host.newKey();
    this.torrent = torrent;
    this.host = host;
    this.planner = planner;
    this.opts = opts;
    this.backoff = new Backoff(opts.backoff);
    const sockets = opts.maxRequests ?? DEFAULT_MAX_REQUESTS;
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: sockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: sockets, ...(opts.ca === undefined ? {} : { ca: trusted(opts.ca) }) }),
    };
    this.has = new Bitfield(torrent.pieceCount);
    this.has.setAll();
    host.attach(this.key, this.has);
  }

  get stats(): WebSeedStats {
    return { url: this.url, state: this.state, bytes: this.bytes, requests: this.requests, failures: this.failures };
  }

  get isDropped(): boolean {
    return this.state === 'dropped';
  }

  /** Starts requests while there are free slots and blocks to fetch. */
  fill(): void {
    const max = this.opts.maxRequests ?? DEFAULT_MAX_REQUESTS;
    const blocks = Math.max(1, Math.floor((this.opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES) / BLOCK_SIZE));
    while (this.state === 'active' && this.jobs < max) {
      const picked = this.host.pick(this.key, blocks);
      if (picked.length === 0) return;
      this.jobs++;
      void this.run(picked, this.abort.signal);
    }
  }

  /** Its bytes failed a piece's hash: it is never used again. */
  blame(reason: string): void {
    this.drop(reason);
  }

  stop(): void {
    if (this.state === 'dropped') return;
    this.state = 'dropped';
    this.restTimer?.cancel();
    this.abort.abort();
    this.host.detach(this.key);
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private drop(reason: string): void {
    if (this.state === 'dropped') return;
    this.stop();
    this.opts.onDropped?.(this.url, reason);
  }

  private async run(blocks: BlockRequest[], signal: AbortSignal): Promise<void> {
    const t = this.torrent;
    const runs = toRuns(blocks, t.pieceLength, this.opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
    const order = runs.flatMap((r) => r.blocks);
    let next = 0;
    let staged: Buffer | undefined;
    let stagedLen = 0;
    const deliver = (data: Uint8Array): void => {
      const b = order[next++]!;
      this.host.deliver(this.key, b.piece, b.begin, data);
    };
    // Cuts the body into the blocks it carries; only a block split across chunks is copied.
    const feed = (chunk: Buffer): void => {
      let off = 0;
      while (off < chunk.length) {
        const len = order[next]!.length;
        if (stagedLen === 0 && chunk.length - off >= len) {
          deliver(chunk.subarray(off, off + len));
          off += len;
          continue;
        }
        staged ??= Buffer.allocUnsafe(BLOCK_SIZE);
        const n = Math.min(len - stagedLen, chunk.length - off);
        chunk.copy(staged, stagedLen, off, off + n);
        stagedLen += n;
        off += n;
        if (stagedLen === len) {
          deliver(staged.subarray(0, len));
          stagedLen = 0;
        }
      }
    };
    const get: Omit<RangeGetOptions, 'guard'> = {
      clock: this.opts.clock,
      stallMs: this.opts.stallMs ?? DEFAULT_STALL_MS,
      maxRedirects: this.opts.maxRedirects ?? 5,
      agents: this.agents,
      signal,
      userAgent: this.opts.userAgent ?? 'Tessera',
      ...(this.opts.downLimit !== undefined ? { limit: this.opts.downLimit } : {}),
    };
    let fileIndex = -1;
    let failure: WebSeedError | undefined;
    try {
      for (const run of runs) {
        for (const seg of this.planner.segments(run.offset, run.length)) {
          if (signal.aborted) throw new WebSeedError('webseed-aborted', 'web seed request aborted');
          if (seg.kind === 'zeros') {
            for (let left = seg.length; left > 0; left -= ZEROS.length) feed(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
            continue;
          }
          fileIndex = seg.fileIndex;
          const f = t.files[seg.fileIndex]!;
          const url = fileUrl(this.base, t.multiFile, t.name, f.urlPath);
          this.requests++;
          await getRange(url, seg.start, seg.length, (chunk) => {
            this.bytes += chunk.length;
            feed(chunk);
          }, { ...get, guard: RequestGuard.forWebSeed(url, this.opts.resolver) });
        }
      }
    } catch (err) {
      failure = err instanceof WebSeedError ? err : new WebSeedError('webseed-network', err instanceof Error ? err.message : String(err), { cause: err });
      // A job we aborted (drop, lost file) had its blocks taken back by `detach` already.
      if (!signal.aborted) this.host.release(this.key, order.slice(next));
    }
    this.jobs--;
    if (failure === undefined) this.backoff.succeeded();
    else this.failed(failure, fileIndex, signal);
    this.fill();
  }

  private failed(err: WebSeedError, fileIndex: number, signal: AbortSignal): void {
    // A request cut by our own abort (a drop, a lost file) says nothing about the server.
    if (this.state === 'dropped' || (signal.aborted && err.code === 'webseed-aborted')) return;
    this.failures++;
    const verdict = this.backoff.failed(err);
    if (verdict.kind === 'drop') return this.drop(err.message);
    this.opts.onError?.(this.url, err);
    if (verdict.kind === 'missing') return this.lose(fileIndex, err.message);
    if (this.state === 'resting') return;
    this.state = 'resting';
    this.restTimer = this.opts.clock.setTimeout(() => {
      this.restTimer = undefined;
      if (this.state !== 'resting') return;
      this.state = 'active';
      this.fill();
    }, verdict.delayMs);
  }

  /** The server lacks file `fileIndex`: the pieces touching it are no longer asked of it. */
  private lose(fileIndex: number, reason: string): void {
    if (fileIndex < 0 || this.missingFiles.has(fileIndex)) return;
    this.missingFiles.add(fileIndex);
    const f = this.torrent.files[fileIndex]!;
    const pl = this.torrent.pieceLength;
    for (let p = Math.floor(f.offset / pl); p <= Math.floor((f.offset + f.length - 1) / pl); p++) this.has.clear(p);
    if (this.has.count === 0) return this.drop(reason);
    // Its other requests are cut too: the picker takes its blocks back on detach.
    this.abort.abort();
    this.abort = new AbortController();
    this.host.detach(this.key);
    this.host.attach(this.key, this.has);
    this.fill();
  }
}
