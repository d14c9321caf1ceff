/**
 * The daemon's HTTP server: Transmission's RPC at /transmission/rpc, Tessera's API under /api,
 * the web interface at /. Every request passes the same gates, in this order:
 *   1. Host header: an IP literal, localhost, or a name on the allow-list (else 421), against
 *      DNS rebinding;
 *   2. HTTP basic authentication when a user name is set (else 401 with a challenge);
 *   3. for the RPC, the X-Transmission-Session-Id handshake (else 409 with the id); for the
 *      API's changes, a JSON content type and, when the browser sends one, a same-origin
 *      Origin (else 403) — a cross-site form can send neither;
 *   4. a body no larger than the limit (else 413), parsed as JSON (else 400).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreams, handleApi } from './api.js';
import type { Daemon } from './daemon.js';
import { DaemonError } from './errors.js';
import { handleRpc } from './rpc.js';
import { basicAuthMatches, hostAllowed, hostNameOf, isLoopback } from './security.js';

export interface ServerOptions {
  readonly daemon: Daemon;
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly hostWhitelist: readonly string[];
  readonly maxBody: number;
  readonly version: string;
  /** Called when a client asks the daemon to stop (RPC `session-close`). */
  readonly onShutdown?: () => void;
}

const SESSION_HEADER = 'x-transmission-session-id';

/** The web interface's files: a fixed list, read once; no request path is ever joined to a folder. */
const WEB_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** The web folder ships as source in the package (src/daemon/web), beside the build. */
function loadWeb(): Map<string, Buffer> {
  const dir = new URL('../../../src/daemon/web/', import.meta.url);
  const out = new Map<string, Buffer>();
  for (const { file } of Object.values(WEB_FILES)) if (!out.has(file)) out.set(file, readFileSync(new URL(file, dir)));
  return out;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, json: unknown, extra: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(json), 'application/json; charset=utf-8', extra);
}

/** The body, at most `max` bytes: a larger Content-Length is refused before reading, a longer stream cut off. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) return Promise.reject(new HttpError(413, `request body larger than ${max} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `request body larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}

function statusOf(err: DaemonError): number {
  switch (err.code) {
    case 'not-found':
      return 404;
    case 'too-large':
      return 413;
    case 'path-not-allowed':
      return 403;
    default:
      return 400;
  }
}

export class DaemonServer {
  private readonly server: Server;
  private readonly sessionId = randomBytes(24).toString('base64url');
  private readonly events: EventStreams;
  private readonly web = loadWeb();

  private constructor(private readonly opts: ServerOptions) {
    this.events = new EventStreams(opts.daemon);
    this.server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000, maxHeaderSize: 16 * 1024 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : err instanceof DaemonError ? statusOf(err) : 500;
        const message = err instanceof Error ? err.message.split('\n')[0]! : 'internal error';
        sendJson(res, status, { error: message }, status === 413 ? { Connection: 'close' } : {});
      });
    });
    this.server.maxConnections = 512;
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Listen; a non-loopback address without a user name and password is refused. */
  static async listen(opts: ServerOptions): Promise<DaemonServer> {
    const auth = opts.username !== undefined && opts.password !== undefined;
    if (!isLoopback(opts.host) && !auth) {
      throw new DaemonError('auth-required', `listening on ${opts.host} (not loopback) needs rpc-username and rpc-password`);
    }
    const s = new DaemonServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen({ host: opts.host, port: opts.port }, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.events.close();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const o = this.opts;
    if (!hostAllowed(req.headers.host, o.hostWhitelist)) {
      throw new HttpError(421, 'this Host is not allowed (add it to rpc-host-whitelist)');
    }
    if (o.username !== undefined && o.password !== undefined && !basicAuthMatches(req.headers.authorization, o.username, o.password)) {
      sendJson(res, 401, { error: 'authentication required' }, { 'WWW-Authenticate': 'Basic realm="Tessera", charset="UTF-8"' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://daemon');
    const path = url.pathname;
    if (path === '/transmission/rpc' || path === '/transmission/rpc/') return this.rpc(req, res);
    if (path === '/transmission' || path.startsWith('/transmission/')) {
      send(res, 301, '', 'text/plain', { Location: '/' });
      return;
    }
    if (path === '/api/events' && req.method === 'GET') {
      if (!this.events.open(res)) throw new HttpError(503, 'too many event streams');
      return;
    }
    if (path.startsWith('/api/')) return this.api(req, res, url);
    const web = WEB_FILES[path];
    if (web !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      send(res, 200, this.web.get(web.file)!, web.type);
      return;
    }
    throw new HttpError(404, 'not found');
  }

  private async rpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const idHeader = { 'X-Transmission-Session-Id': this.sessionId };
    if (req.headers[SESSION_HEADER] !== this.sessionId) {
      req.resume();
      send(res, 409, `<h1>409: Conflict</h1><p>Your request had an invalid session-id header.</p><p><code>X-Transmission-Session-Id: ${this.sessionId}</code></p>`, 'text/html; charset=utf-8', idHeader);
      return;
    }
    if (req.method !== 'POST') throw new HttpError(405, 'the RPC takes POST');
    const body = parseJson(await readBody(req, this.opts.maxBody));
    const answer = await handleRpc(
      { daemon: this.opts.daemon, version: this.opts.version, sessionId: this.sessionId, ...(this.opts.onShutdown !== undefined ? { onClose: this.opts.onShutdown } : {}) },
      body,
    );
    sendJson(res, 200, answer, idHeader);
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'changes take a JSON body (Content-Type: application/json)');
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null') {
        let originHost: string | undefined;
        try {
          originHost = new URL(origin).host.toLowerCase();
        } catch {
          originHost = undefined;
        }
        if (originHost === undefined || originHost !== (req.headers.host ?? '').toLowerCase() || hostNameOf(originHost) === undefined) {
          throw new HttpError(403, 'cross-origin requests are refused');
        }
      } else if (origin === 'null') throw new HttpError(403, 'cross-origin requests are refused');
    }
    const body = method === 'POST' ? parseJson(await readBody(req, this.opts.maxBody)) : undefined;
    const result = await handleApi(this.opts.daemon, this.opts.version, { method, path: url.pathname.slice('/api'.length), query: url.searchParams, body });
    sendJson(res, result.status, result.json);
  }
}
