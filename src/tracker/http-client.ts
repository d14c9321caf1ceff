/**
 * The HTTP(S) tracker transport: one GET with bounded redirects, a bounded body and an
 * overall timeout, on node:http/node:https (SAFETY.md: body ≤ 1 MiB, ≤ 5 redirects,
 * http/https only, no compression). Every hop passes the `RequestGuard` (ssrf.ts) first.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { systemClock, type Clock } from '../util/clock.js';
import { TrackerError } from './errors.js';
import { buildAnnounceUrl, buildScrapeUrl, parseAnnounceBody, parseScrapeBody, scrapeUrlFor } from './http-codec.js';
import { RequestGuard } from './ssrf.js';
import type { AnnounceParams, AnnounceResult, ScrapeResult } from './types.js';

export interface HttpOptions {
  /** Whole exchange, redirects included (default 15 s). */
  readonly timeoutMs?: number;
  /** Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Default 5. */
  readonly maxRedirects?: number;
  readonly signal?: AbortSignal;
  /** Times the overall timeout (default the system clock). */
  readonly clock?: Clock;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BODY = 1024 * 1024;
const DEFAULT_MAX_REDIRECTS = 5;

export async function httpAnnounce(url: string, params: AnnounceParams, opts: HttpOptions = {}): Promise<AnnounceResult> {
  const signal = params.signal ?? opts.signal;
  const guard = new RequestGuard(checkUrl(url));
  const body = await httpGet(buildAnnounceUrl(url, params), guard, { ...opts, ...(signal === undefined ? {} : { signal }) });
  return parseAnnounceBody(body);
}

export async function httpScrape(url: string, infoHashes: readonly Uint8Array[], opts: HttpOptions = {}): Promise<ScrapeResult> {
  const guard = new RequestGuard(checkUrl(url));
  const scrape = scrapeUrlFor(url);
  if (scrape === undefined) throw new TrackerError('tracker-bad-url', `tracker does not support scrape (BEP 48): ${url}`);
  return parseScrapeBody(await httpGet(buildScrapeUrl(scrape, infoHashes), guard, opts));
}

function checkUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TrackerError('tracker-bad-url', `not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TrackerError('tracker-bad-url', `not an http(s) tracker: ${url}`);
  return u;
}

/** GET `url` following redirects; resolves with the body of the final 2xx reply (or of an error reply that is bencode). */
async function httpGet(url: string, guard: RequestGuard, opts: HttpOptions): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const deadline = new AbortController();
  const timer = (opts.clock ?? systemClock).setTimeout(() => deadline.abort(), timeoutMs);
  const onOuterAbort = (): void => deadline.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted === true) deadline.abort();
  try {
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      guard.check(current, hop);
      const reply = await getOnce(current, deadline.signal, maxBody, guard.lookup(hop, current.host));
      if (reply.location === undefined) {
        if (reply.status >= 200 && reply.status < 300) return reply.body;
        // Not found or gone: this tracker does not serve the torrent, whatever the body says.
        if (reply.status === 404 || reply.status === 410) throw new TrackerError('tracker-http-status', `tracker answered HTTP ${reply.status}`, { status: reply.status });
        // Some trackers send `failure reason` with a 4xx status: the body then says more than the status.
        if (reply.body.length > 0 && reply.body[0] === 0x64 /* 'd' */) return reply.body;
        throw new TrackerError('tracker-http-status', `tracker answered HTTP ${reply.status}`, { status: reply.status });
      }
      if (hop >= maxRedirects) throw new TrackerError('tracker-redirect', `more than ${maxRedirects} redirects`);
      try {
        current = new URL(reply.location, current);
      } catch {
        throw new TrackerError('tracker-redirect', 'redirect to an invalid URL');
      }
    }
  } catch (err) {
    if (err instanceof TrackerError) throw err;
    if (opts.signal?.aborted === true) throw new TrackerError('tracker-aborted', 'announce aborted', { cause: err });
    if (deadline.signal.aborted) throw new TrackerError('tracker-timeout', `tracker did not answer within ${timeoutMs} ms`, { cause: err });
    const msg = err instanceof Error ? err.message : String(err);
    throw new TrackerError('tracker-network', `cannot reach tracker: ${msg}`, { cause: err });
  } finally {
    timer.cancel();
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

interface Reply {
  readonly status: number;
  readonly location?: string;
  readonly body: Buffer;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function getOnce(url: URL, signal: AbortSignal, maxBody: number, lookup: LookupFunction): Promise<Reply> {
  // node:https (and TLS with it) is loaded for the first https tracker only: it takes about
  // 10 ms to load, and most starts announce over plain http or UDP.
  const request = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  return new Promise<Reply>((resolve, reject) => {
    // A fresh agent per request: no pooled socket outlives the exchange. No explicit
    // `Connection: close` header: Node then half-closes the socket right after the request,
    // and opentracker drops such a connection without answering.
    const options = { method: 'GET', signal, agent: false, lookup, headers: { 'accept-encoding': 'identity' } } as const;
    const req = request(url, options, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location !== undefined) {
        res.resume();
        resolve({ status, location, body: Buffer.alloc(0) });
        return;
      }
      const encoding = res.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'identity') {
        res.destroy();
        reject(new TrackerError('tracker-protocol', `tracker sent ${encoding}-encoded data that was not asked for`));
        return;
      }
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > maxBody) {
        res.destroy();
        reject(new TrackerError('tracker-too-large', `tracker reply of ${declared} bytes exceeds ${maxBody}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBody) {
          res.destroy();
          reject(new TrackerError('tracker-too-large', `tracker reply exceeds ${maxBody} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', reject);
      // A reply cut short ends in 'close' without 'end'; after 'end' this reject is a no-op.
      res.on('close', () => reject(new Error('connection closed before the reply ended')));
      res.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}
