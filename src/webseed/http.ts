/**
 * One ranged GET of a web seed, streamed: the body goes to `onData` chunk by chunk as it
 * arrives (never gathered), and must be exactly the range asked for. Redirects are followed
 * a bounded number of times, never in a loop, each hop passing the SSRF rules (ssrf.ts). A
 * request that receives nothing for `stallMs` (timed on the injected clock) is abandoned.
 */
import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { TrackerError } from '../tracker/errors.js';
import type { RequestGuard } from '../tracker/ssrf.js';
import type { Clock } from '../util/clock.js';
import { throttleReads, type BandwidthLimit } from '../swarm/bandwidth.js';
import { WebSeedError } from './errors.js';

export interface RangeGetOptions {
  readonly guard: RequestGuard;
  readonly clock: Clock;
  /** Ms without a byte (or the headers) before the request is abandoned. */
  readonly stallMs: number;
  readonly maxRedirects: number;
  /** Keep-alive agents of this web seed, bounding its connections. */
  readonly agents: { readonly http: HttpAgent; readonly https: HttpsAgent };
  readonly signal?: AbortSignal;
  /** Sent as User-Agent. */
  readonly userAgent: string;
  /** `--max-down`: the body is charged here and not read while the limit is in debt. */
  readonly limit?: BandwidthLimit;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** A Retry-After above this is clamped: a server cannot park a web seed for days. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * GET bytes `[start, start + length)` of `url`, calling `onData` with every chunk of the body.
 * Resolves once exactly `length` bytes were delivered; rejects with a WebSeedError otherwise.
 */
export async function getRange(url: URL, start: number, length: number, onData: (chunk: Buffer) => void, opts: RangeGetOptions): Promise<void> {
  const visited = new Set<string>();
  let current = url;
  for (let hop = 0; ; hop++) {
    try {
      opts.guard.check(current, hop);
    } catch (err) {
      throw refusal(err);
    }
    visited.add(current.href);
    const location = await exchange(current, hop, start, length, onData, opts);
    if (location === undefined) return;
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new WebSeedError('webseed-redirect', 'redirect to an invalid URL');
    }
    next.hash = '';
    if (visited.has(next.href)) throw new WebSeedError('webseed-redirect', `redirect loop at ${next.href}`);
    if (hop >= opts.maxRedirects) throw new WebSeedError('webseed-redirect', `more than ${opts.maxRedirects} redirects`);
    current = next;
  }
}

function refusal(err: unknown): WebSeedError {
  if (err instanceof WebSeedError) return err;
  if (err instanceof TrackerError && err.code === 'tracker-refused') return new WebSeedError('webseed-refused', err.message, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new WebSeedError('webseed-network', `cannot reach web seed: ${msg}`, { cause: err });
}

function retryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const secs = Number(value);
  const ms = Number.isFinite(secs) && value.trim() !== '' ? secs * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/** `bytes a-b/total` naming exactly the range asked for. */
function contentRangeMatches(header: string | undefined, start: number, length: number): boolean {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  return m !== null && Number(m[1]) === start && Number(m[2]) === start + length - 1;
}

/** One hop: resolves with a redirect's Location, or undefined once the body was delivered. */
function exchange(url: URL, hop: number, start: number, length: number, onData: (chunk: Buffer) => void, opts: RangeGetOptions): Promise<string | undefined> {
  const https = url.protocol === 'https:';
  const request = https ? httpsRequest : httpRequest;
  const ctl = new AbortController();
  const onOuterAbort = (): void => ctl.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted === true) ctl.abort();
  let stalled = false;
  let timer = opts.clock.setTimeout(() => ((stalled = true), ctl.abort()), opts.stallMs);
  const rearm = (): void => {
    timer.cancel();
    timer = opts.clock.setTimeout(() => ((stalled = true), ctl.abort()), opts.stallMs);
  };
  return new Promise<string | undefined>((resolve, reject) => {
    let settled = false;
    const finish = (err: WebSeedError | undefined, location?: string): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      opts.signal?.removeEventListener('abort', onOuterAbort);
      if (err !== undefined) reject(err);
      else resolve(location);
    };
    const fail = (err: unknown): void => {
      if (stalled) return finish(new WebSeedError('webseed-timeout', `web seed sent nothing for ${opts.stallMs} ms`, { cause: err }));
      if (opts.signal?.aborted === true) return finish(new WebSeedError('webseed-aborted', 'web seed request aborted', { cause: err }));
      finish(refusal(err));
    };
    const headers = { range: `bytes=${start}-${start + length - 1}`, 'accept-encoding': 'identity', 'user-agent': opts.userAgent };
    const options = { method: 'GET', signal: ctl.signal, agent: https ? opts.agents.https : opts.agents.http, lookup: opts.guard.lookup(hop, url.host), headers };
    const req = request(url, options, (res: IncomingMessage) => {
      rearm();
      const status = res.statusCode ?? 0;
      const bad = (code: 'webseed-protocol' | 'webseed-http-status' | 'webseed-not-found', message: string, extra?: { status?: number; retryAfterMs?: number }): void => {
        // A body we do not read would hold the keep-alive socket: close it instead.
        res.destroy();
        finish(new WebSeedError(code, message, extra));
      };
      res.on('error', fail);
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location !== undefined) {
        res.destroy();
        return finish(undefined, location);
      }
      if (status === 404 || status === 410) return bad('webseed-not-found', `web seed answered HTTP ${status} for ${url.pathname}`, { status });
      if (status !== 206 && status !== 200) {
        const after = retryAfter(res.headers['retry-after'], opts.clock.now());
        return bad('webseed-http-status', `web seed answered HTTP ${status}`, { status, ...(after === undefined ? {} : { retryAfterMs: after }) });
      }
      const encoding = res.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'identity') return bad('webseed-protocol', `web seed sent ${encoding}-encoded data that was not asked for`);
      const declared = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
      // A 200 is the whole file: acceptable only when that is exactly the range asked for.
      if (status === 200 && !(start === 0 && declared === length)) return bad('webseed-protocol', 'web seed ignored the range request');
      if (status === 206 && !contentRangeMatches(res.headers['content-range'], start, length)) {
        return bad('webseed-protocol', `web seed answered another range (${res.headers['content-range'] ?? 'none'}) than bytes ${start}-${start + length - 1}`);
      }
      if (declared !== undefined && declared !== length) return bad('webseed-protocol', `web seed announced ${declared} bytes for a range of ${length}`);
      let got = 0;
      // While the download limit holds the body back, the stall timer does not run.
      const reader = {
        throttled: false,
        conn: {
          get state(): string {
            return settled ? 'closed' : 'open';
          },
          pause: (): void => {
            timer.cancel();
            res.pause();
          },
          resume: (): void => {
            rearm();
            res.resume();
          },
        },
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        rearm();
        got += chunk.length;
        if (got > length) return bad('webseed-protocol', `web seed sent more than the ${length} bytes asked for`);
        onData(chunk);
        if (opts.limit !== undefined) throttleReads(reader, chunk.length, opts.limit, opts.clock, () => !settled);
      });
      res.on('end', () => {
        if (got === length) finish(undefined);
        else finish(new WebSeedError('webseed-protocol', `web seed sent ${got} of ${length} bytes`));
      });
      // Cut short: 'close' without 'end'.
      res.on('close', () => {
        if (!settled) fail(new Error(`connection closed after ${got} of ${length} bytes`));
      });
    });
    req.on('error', fail);
    req.end();
  });
}
