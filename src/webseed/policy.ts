/**
 * What a web seed's failure costs it, pure and timed by the caller's clock:
 *  - `missing`: the server does not have a file (404, 410): pieces touching that file are
 *    never asked of it again; it keeps serving the others;
 *  - `retry`: a passing fault (5xx, 429, a stall, a cut connection): it rests for a back-off
 *    that doubles with each failure in a row, from `baseMs` up to `maxMs` (or the server's
 *    Retry-After, within `maxMs`), and is dropped after `maxFailures` in a row;
 *  - `drop`: it cannot serve this torrent (a redirect loop, a refused hop, replies that are
 *    not the range asked for): dropped at once.
 * A web seed whose bytes fail a piece's hash is dropped too, by the swarm (it knows which
 * pieces failed and who sent them).
 */
import type { WebSeedError } from './errors.js';

export type Verdict = { readonly kind: 'missing' } | { readonly kind: 'retry'; readonly delayMs: number } | { readonly kind: 'drop' };

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly maxFailures?: number;
}

export const DEFAULT_BACKOFF = { baseMs: 5_000, maxMs: 300_000, maxFailures: 8 } as const;

export class Backoff {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxFailures: number;
  /** Failures since the last success. */
  failures = 0;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
    this.maxMs = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.maxFailures = opts.maxFailures ?? DEFAULT_BACKOFF.maxFailures;
  }

  succeeded(): void {
    this.failures = 0;
  }

  failed(err: WebSeedError): Verdict {
    switch (err.code) {
      case 'webseed-not-found':
        return { kind: 'missing' };
      case 'webseed-http-status':
      case 'webseed-timeout':
      case 'webseed-network': {
        if (++this.failures >= this.maxFailures) return { kind: 'drop' };
        const doubling = this.baseMs * 2 ** Math.min(this.failures - 1, 30);
        return { kind: 'retry', delayMs: Math.min(this.maxMs, Math.max(doubling, err.retryAfterMs ?? 0)) };
      }
      case 'webseed-aborted':
        return { kind: 'retry', delayMs: 0 };
      case 'webseed-redirect':
      case 'webseed-refused':
      case 'webseed-protocol':
      case 'webseed-bad-url':
        return { kind: 'drop' };
    }
  }
}
