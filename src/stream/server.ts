/**
 * Serves a torrent's files over HTTP on 127.0.0.1 while they download: `GET /<index>/<name>`
 * with `Range`, `Content-Length`, `Content-Type` and `Accept-Ranges` as players expect, and
 * `HEAD`. The server knows nothing of torrents: it sees a `StreamSource` (a file list and a
 * `read` that waits until the bytes are verified), so a read of a piece not yet downloaded
 * waits for it instead of failing, and the source can fetch what is being read first.
 *
 * Memory is bounded per response (one chunk in flight, written only after the socket drains),
 * connections are capped, and requests whose Host is not the loopback address are refused, so a
 * web page cannot reach the stream through DNS rebinding.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { contentType, parseRange } from './range.js';

export interface StreamFile {
  /** Path below the download folder, components joined with '/'. */
  readonly path: string;
  readonly length: number;
  /** Not downloaded (skipped): it has no URL and is answered 404. */
  readonly skipped?: boolean;
}

export interface StreamSource {
  files(): readonly StreamFile[];
  /**
   * `length` bytes of file `index` from `offset`, once they are verified; waits for them (and
   * may move them to the front of the download). Rejects when `signal` fires.
   */
  read(index: number, offset: number, length: number, signal: AbortSignal): Promise<Uint8Array>;
}

export interface StreamServerOptions {
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1; the stream is for this machine only. */
  readonly host?: string;
  /** Bytes read from the source per step of a response. Default 256 KiB. */
  readonly chunkBytes?: number;
}

const MAX_CONNECTIONS = 64;

export class StreamServer {
  private readonly responses = new Set<AbortController>();

  private constructor(
    private readonly server: http.Server,
    private readonly source: StreamSource,
    readonly host: string,
    readonly port: number,
  ) {}

  static async start(source: StreamSource, opts: StreamServerOptions = {}): Promise<StreamServer> {
    const host = opts.host ?? '127.0.0.1';
    const chunk = opts.chunkBytes ?? 256 * 1024;
    let self: StreamServer | undefined;
    const server = http.createServer((req, res) => {
      if (self !== undefined) self.handle(req, res, chunk);
      else res.destroy();
    });
    server.maxConnections = MAX_CONNECTIONS;
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    self = new StreamServer(server, source, host, (server.address() as AddressInfo).port);
    return self;
  }

  /** One URL per file that is downloaded, in the torrent's order (the path holds the file's index). */
  urls(): string[] {
    const base = `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
    return this.source
      .files()
      .flatMap((f, i) => (f.skipped === true ? [] : [`${base}/${i}/${encodeURIComponent(f.path.split('/').at(-1) ?? 'file')}`]));
  }

  async close(): Promise<void> {
    for (const c of this.responses) c.abort();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, chunk: number): void {
    res.on('error', () => undefined);
    if (!this.hostAllowed(req.headers.host)) return this.fail(res, 403, 'forbidden host');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.fail(res, 405, 'method not allowed');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const files = this.source.files();
    if (url.pathname === '/') {
      const body = `${this.urls().join('\n')}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const m = /^\/(\d{1,9})(?:\/.*)?$/.exec(url.pathname);
    const index = m === null ? -1 : Number(m[1]);
    const file = files[index];
    if (file === undefined) return this.fail(res, 404, 'no such file');
    if (file.skipped === true) return this.fail(res, 404, 'file not selected for download');

    const range = parseRange(req.headers.range, file.length);
    const headers: http.OutgoingHttpHeaders = {
      'Accept-Ranges': 'bytes',
      'Content-Type': contentType(file.path),
      'X-Content-Type-Options': 'nosniff',
    };
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.length}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    const start = range.kind === 'range' ? range.start : 0;
    const end = range.kind === 'range' ? range.end : file.length - 1;
    const length = end - start + 1;
    if (range.kind === 'range') headers['Content-Range'] = `bytes ${start}-${end}/${file.length}`;
    res.writeHead(range.kind === 'range' ? 206 : 200, { ...headers, 'Content-Length': length });
    if (req.method === 'HEAD' || length <= 0) {
      res.end();
      return;
    }
    void this.pump(res, index, start, length, chunk);
  }

  /** Copy the bytes, one chunk at a time, each written once the socket has taken the last. */
  private async pump(res: http.ServerResponse, index: number, start: number, length: number, chunk: number): Promise<void> {
    const abort = new AbortController();
    this.responses.add(abort);
    res.once('close', () => abort.abort());
    try {
      for (let at = start, left = length; left > 0 && !abort.signal.aborted; ) {
        const n = Math.min(chunk, left);
        const bytes = await this.source.read(index, at, n, abort.signal);
        if (abort.signal.aborted) break;
        at += n;
        left -= n;
        if (!res.write(bytes) && left > 0) await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          abort.signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
      res.end();
    } catch {
      // The client went away, the source was closed, or the data cannot be read: the headers
      // are gone already, so the only honest signal left is a cut connection.
      res.destroy();
    } finally {
      this.responses.delete(abort);
    }
  }

  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return true;
    const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
    return name === 'localhost' || name === '127.0.0.1' || name === '::1' || name === this.host;
  }

  private fail(res: http.ServerResponse, status: number, message: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(message) + 1 });
    res.end(`${message}\n`);
  }
}
