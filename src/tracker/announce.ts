/**
 * One announce or scrape to one tracker URL, whatever its scheme: http(s) goes to
 * `http-client.ts`, udp to a `UdpTrackerClient` (the caller's, so one socket serves many
 * trackers, or a temporary one).
 */
import type { Clock } from '../util/clock.js';
import { TrackerError } from './errors.js';
import { httpAnnounce, httpScrape, type HttpOptions } from './http-client.js';
import type { AnnounceParams, AnnounceResult, ScrapeResult } from './types.js';
import { UdpTrackerClient } from './udp-client.js';

export interface TrackerOptions {
  /** HTTP: whole exchange, redirects included (default 15 s). */
  readonly timeoutMs?: number;
  /** UDP: reuse this client (and its socket and connection ids). */
  readonly udp?: UdpTrackerClient;
  /** UDP, when no `udp` client is given: first retransmission timeout (BEP 15: 15 s). */
  readonly udpBaseTimeoutMs?: number;
  /** UDP, when no `udp` client is given: highest n in 15·2^n (BEP 15: 8). */
  readonly udpMaxRetries?: number;
  /** Times HTTP timeouts and UDP retransmissions (default the system clock). */
  readonly clock?: Clock;
}

function scheme(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    throw new TrackerError('tracker-bad-url', `not a URL: ${url}`);
  }
}

async function withUdp<T>(opts: TrackerOptions, run: (client: UdpTrackerClient) => Promise<T>): Promise<T> {
  if (opts.udp !== undefined) return run(opts.udp);
  const client = new UdpTrackerClient({
    ...(opts.udpBaseTimeoutMs === undefined ? {} : { baseTimeoutMs: opts.udpBaseTimeoutMs }),
    ...(opts.udpMaxRetries === undefined ? {} : { maxRetries: opts.udpMaxRetries }),
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
  });
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

function httpOptions(opts: TrackerOptions): HttpOptions {
  return {
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
  };
}

export async function announce(url: string, params: AnnounceParams, opts: TrackerOptions = {}): Promise<AnnounceResult> {
  switch (scheme(url)) {
    case 'http:':
    case 'https:':
      return httpAnnounce(url, params, httpOptions(opts));
    case 'udp:':
      return withUdp(opts, (c) => c.announce(url, params));
    default:
      throw new TrackerError('tracker-bad-url', `unsupported tracker scheme: ${url}`);
  }
}

export async function scrape(
  url: string,
  infoHashes: readonly Uint8Array[],
  opts: TrackerOptions & { signal?: AbortSignal } = {},
): Promise<ScrapeResult> {
  switch (scheme(url)) {
    case 'http:':
    case 'https:':
      return httpScrape(url, infoHashes, { ...httpOptions(opts), ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
    case 'udp:':
      return withUdp(opts, (c) => c.scrape(url, infoHashes, opts.signal));
    default:
      throw new TrackerError('tracker-bad-url', `unsupported tracker scheme: ${url}`);
  }
}
