import { TesseraError } from '../util/errors.js';

/**
 * Why a web seed request failed. What the swarm does about it depends on the code
 * (see `classify` in policy.ts):
 * - `webseed-not-found`: 404 or 410, the file is not on this server;
 * - `webseed-http-status`: another non-2xx status (5xx, 429, ...);
 * - `webseed-redirect`: a redirect loop, too many redirects, or one to another scheme;
 * - `webseed-refused`: a hop we will not contact (server-side request forgery rules);
 * - `webseed-timeout`: no byte arrived for the stall timeout;
 * - `webseed-protocol`: a reply that does not answer the range asked (wrong Content-Range,
 *   a body longer or shorter than the range, an unasked-for encoding);
 * - `webseed-network`: the connection failed or was cut;
 * - `webseed-bad-url`: the URL cannot name the torrent's files;
 * - `webseed-aborted`: we cancelled the request (stopping).
 */
export type WebSeedErrorCode =
  | 'webseed-not-found'
  | 'webseed-http-status'
  | 'webseed-redirect'
  | 'webseed-refused'
  | 'webseed-timeout'
  | 'webseed-protocol'
  | 'webseed-network'
  | 'webseed-bad-url'
  | 'webseed-aborted';

export class WebSeedError extends TesseraError {
  override readonly code: WebSeedErrorCode;
  /** The HTTP status, when the server answered with one. */
  readonly status: number | undefined;
  /** A `Retry-After` the server sent, in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(code: WebSeedErrorCode, message: string, options?: { cause?: unknown; status?: number; retryAfterMs?: number }) {
    super(code, message, options);
    this.code = code;
    this.status = options?.status;
    this.retryAfterMs = options?.retryAfterMs;
  }
}
