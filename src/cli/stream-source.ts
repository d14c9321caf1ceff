/**
 * Adapts a downloading torrent to the stream server's `StreamSource`: a read names the pieces
 * under it (and a read-ahead window after it) as urgent, so the picker fetches them before
 * anything else (deadline-first, as libtorrent's piece deadlines and WebTorrent's critical
 * selections), waits until they are verified, then reads the bytes from the file on disk,
 * opened through the same safe-path checks storage uses.
 */
import { realpath, read } from 'node:fs';
import { promisify } from 'node:util';
import { closeFd, openSafe } from '../storage/safe-fs.js';
import type { StreamFile, StreamSource } from '../stream/index.js';

const readP = promisify(read);
const realpathP = promisify(realpath);

/** What the adapter needs of a torrent (a `TorrentHandle` provides it). */
export interface StreamTorrent {
  /** Files in the torrent's order (padding excluded); `path` joined with '/' below the output folder. */
  files(): readonly { readonly path: string; readonly length: number; readonly offset: number; readonly priority?: string }[];
  readonly pieceLength: number;
  readonly pieceCount: number;
  hasPiece(index: number): boolean;
  /** Pieces to fetch first, most urgent first. */
  setUrgent(pieces: readonly number[]): void;
  /** Calls `fn` for every newly verified piece; returns how to stop. */
  onVerified(fn: (piece: number) => void): () => void;
}

export interface StreamSourceOptions {
  /** Bytes after each read position to fetch urgently too. Default 8 MiB. */
  readonly readAheadBytes?: number;
}

interface Window {
  readonly pieces: number[];
}

export class TorrentStreamSource implements StreamSource {
  private readonly windows = new Set<Window>();
  private readonly waiters = new Set<() => void>();
  private readonly fds = new Map<number, Promise<number | undefined>>();
  private readonly stopVerified: () => void;
  private readonly readAheadPieces: number;
  private root: Promise<string> | undefined;

  constructor(
    private readonly torrent: StreamTorrent,
    private readonly outputDir: string,
    opts: StreamSourceOptions = {},
  ) {
    this.readAheadPieces = Math.max(1, Math.ceil((opts.readAheadBytes ?? 8 * 1024 * 1024) / torrent.pieceLength));
    this.stopVerified = torrent.onVerified(() => {
      for (const wake of [...this.waiters]) wake();
    });
  }

  files(): StreamFile[] {
    return this.torrent.files().map((f) => ({ path: f.path, length: f.length, skipped: f.priority === 'skip' }));
  }

  async read(index: number, offset: number, length: number, signal: AbortSignal): Promise<Uint8Array> {
    const file = this.torrent.files()[index];
    if (file === undefined || offset < 0 || length <= 0 || offset + length > file.length) throw new RangeError(`read outside file ${index}`);
    const pl = this.torrent.pieceLength;
    const first = Math.floor((file.offset + offset) / pl);
    const last = Math.floor((file.offset + offset + length - 1) / pl);
    const fileLast = Math.floor((file.offset + file.length - 1) / pl);
    const until = Math.min(fileLast, Math.max(last, first + this.readAheadPieces - 1));
    const window: Window = { pieces: range(first, until) };
    this.windows.add(window);
    this.updateUrgent();
    try {
      await this.waitFor(first, last, signal);
    } finally {
      this.windows.delete(window);
      this.updateUrgent();
    }
    return this.readFile(index, file.path, offset, length);
  }

  async close(): Promise<void> {
    this.stopVerified();
    for (const wake of [...this.waiters]) wake();
    const fds = [...this.fds.values()];
    this.fds.clear();
    for (const fd of await Promise.all(fds.map((p) => p.catch(() => undefined)))) if (fd !== undefined) await closeFd(fd);
  }

  /** The newest read first: a seek matters more than the position it left. */
  private updateUrgent(): void {
    const out: number[] = [];
    const seen = new Set<number>();
    for (const w of [...this.windows].reverse()) {
      for (const p of w.pieces) {
        if (seen.has(p) || this.torrent.hasPiece(p)) continue;
        seen.add(p);
        out.push(p);
      }
    }
    this.torrent.setUrgent(out);
  }

  private waitFor(first: number, last: number, signal: AbortSignal): Promise<void> {
    const ready = (): boolean => {
      for (let p = first; p <= last; p++) if (!this.torrent.hasPiece(p)) return false;
      return true;
    };
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (signal.aborted) return finish(new Error('the read was aborted'));
        if (ready()) return finish();
        this.updateUrgent();
      };
      const finish = (err?: Error): void => {
        this.waiters.delete(check);
        signal.removeEventListener('abort', check);
        if (err === undefined) resolve();
        else reject(err);
      };
      this.waiters.add(check);
      signal.addEventListener('abort', check, { once: true });
    });
  }

  private async readFile(index: number, relPath: string, offset: number, length: number): Promise<Uint8Array> {
    this.root ??= realpathP(this.outputDir);
    const root = await this.root;
    let fd = this.fds.get(index);
    if (fd === undefined) {
      fd = openSafe(root, relPath.split('/'), 'read');
      this.fds.set(index, fd);
    }
    const handle = await fd;
    if (handle === undefined) throw new Error(`${relPath} is not on disk`);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await readP(handle, buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`${relPath} is shorter than the torrent says`);
      done += bytesRead;
    }
    return buf;
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let p = from; p <= to; p++) out.push(p);
  return out;
}
