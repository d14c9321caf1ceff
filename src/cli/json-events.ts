/**
 * `--json`: one JSON object per line on standard output, for scripts. The schema is in
 * README.md ("Scripting"); every object has `event` and `time`, and the fields of each event
 * are listed in `JsonEvent`. Strings that came from strangers (names, tracker messages, ban
 * reasons) pass through `safeText`, so a line never carries a control character; JSON itself
 * escapes the rest.
 */
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
    | { readonly event: 'started'; readonly source: string; readonly output: string; readonly name?: string }
    | { readonly event: 'metadata'; readonly name: string; readonly length: number; readonly pieceLength: number; readonly pieceCount: number; readonly files: readonly JsonFile[] }
    | {
        readonly event: 'progress';
        readonly state: string;
        /** Verified fraction, 0 to 1. */
        readonly fraction: number;
        readonly verifiedBytes: number;
        readonly totalBytes: number;
        readonly downloaded: number;
        readonly uploaded: number;
        /** Bytes per second. */
        readonly downRate: number;
        readonly upRate: number;
        readonly peers: number;
        readonly knownPeers: number;
        /** Seconds; null when nothing arrives (or when seeding). */
        readonly eta: number | null;
      }
    | { readonly event: 'piece-failed'; readonly piece?: number; readonly hashFailures: number }
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
