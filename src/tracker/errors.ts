import { TesseraError } from '../util/errors.js';

/**
 * Why a tracker exchange failed. `failure` carries the tracker's own `failure reason`
 * (BEP 3) or UDP error message (BEP 15); the others are ours.
 */
export type TrackerErrorCode =
  | 'tracker-failure'
  | 'tracker-timeout'
  | 'tracker-network'
  | 'tracker-protocol'
  | 'tracker-http-status'
  | 'tracker-redirect'
  | 'tracker-too-large'
  | 'tracker-bad-url'
  /** We refused to contact where the URL or a redirect pointed (ssrf.ts). */
  | 'tracker-refused'
  | 'tracker-aborted'
  | 'tracker-all-failed';

export interface TrackerErrorOptions {
  readonly cause?: unknown;
  /** The HTTP status the tracker answered with. */
  readonly status?: number;
  /** BEP 31 `retry in`: minutes before asking this tracker again, or never. */
  readonly retryIn?: number | 'never';
}

/** Every tracker failure. Messages are one line with controls stripped: they reach a terminal. */
export class TrackerError extends TesseraError {
  override readonly code: TrackerErrorCode;
  readonly status: number | undefined;
  readonly retryIn: number | 'never' | undefined;
  constructor(code: TrackerErrorCode, message: string, options?: TrackerErrorOptions) {
    super(code, oneLine(message, MAX_ERROR_MESSAGE), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options?.status;
    this.retryIn = options?.retryIn;
  }

  /**
   * The tracker told us it will never serve this torrent (HTTP 404 or 410, or `retry in:
   * never`), or we refuse to contact it: asking again would change nothing.
   */
  get gone(): boolean {
    return this.status === 404 || this.status === 410 || this.retryIn === 'never' || this.code === 'tracker-refused';
  }
}

/** One tracker's text (failure reason, warning) is cut here; an error listing many trackers may be longer. */
const MAX_TRACKER_TEXT = 300;
const MAX_ERROR_MESSAGE = 4000;

/** Tracker-supplied text is hostile: no controls, no bidi overrides, one bounded line. */
export function oneLine(s: string, max = MAX_TRACKER_TEXT): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
