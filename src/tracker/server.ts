/**
 * The built-in tracker: HTTP `/announce` and `/scrape` (BEP 3, 23, 7, 48) and UDP (BEP 15)
 * over one in-memory `SwarmStore`. Unlike opentracker it accepts any info hash. Every bad
 * request gets a `failure reason` (or a BEP 15 error packet), never a crash.
 *
 * UDP connection ids are an HMAC of the client's address and port and of the current
 * minute under a secret drawn at start, so the server keeps no state per connect and a
 * spoofed source address cannot announce; an id is accepted during its minute and the next,
 * from the address and port it was given to only.
 *
 * Against reflection: only a connect request, which is the size of its reply, is answered
 * without a valid connection id, and an error reply to a UDP request is never larger than
 * the request (its message is cut to fit). A forged source address therefore gains no
 * amplification. HTTP needs a TCP handshake, so its replies cannot be sent to a forged one.
 * Per-source quotas (swarm-store.ts) keep one address from filling the tables.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { encode, type Encodable } from '../bencode/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { TrackerError } from './errors.js';
import { parseQueryBytes } from './http-codec.js';
import { encodeCompactPeers, normalizeIp } from './peers.js';
import { SwarmStore } from './swarm-store.js';
import type { AnnounceEvent } from './types.js';
import {
  decodeRequest,
  encodeAnnounceResponse,
  encodeConnectResponse,
  encodeErrorResponse,
  encodeScrapeResponse,
  type UdpRequest,
} from './udp-codec.js';

export interface TrackerServerOptions {
  /** 0 (default) picks a free port. */
  readonly httpPort?: number;
  /** 0 (default) picks a free port. */
  readonly udpPort?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Announce interval in seconds (default 1800); peers expire after twice that. */
  readonly interval?: number;
  readonly maxSwarms?: number;
  readonly maxPeersPerSwarm?: number;
  /** Peers one address (IPv6: one /64) may hold in one swarm (default 64). */
  readonly maxPortsPerSource?: number;
  /** Peers one address (IPv6: one /64) may hold in all swarms together (default 1,000). */
  readonly maxPeersPerSource?: number;
  /** Peers handed out per announce at most (default 200); the default numwant is 50. */
  readonly maxNumWant?: number;
  /** Peer expiry, connection ids and the sweep (default the system clock). */
  readonly clock?: Clock;
}

export interface TrackerServer {
  readonly httpPort: number;
  readonly udpPort: number;
  readonly httpUrl: string;
  readonly udpUrl: string;
  close(): Promise<void>;
}

const DEFAULT_NUMWANT = 50;
const MAX_SCRAPE_HASHES = 100;
const CONNECTION_ID_PERIOD_MS = 60_000;

export async function startTrackerServer(opts: TrackerServerOptions = {}): Promise<TrackerServer> {
  const host = opts.host ?? '127.0.0.1';
  const family = isIP(host);
  if (family === 0) throw new TrackerError('tracker-bad-url', `tracker host must be an IP address: ${host}`);
  const interval = Math.max(1, Math.trunc(opts.interval ?? 1800));
  const clock = opts.clock ?? systemClock;
  const now = (): number => clock.now();
  const maxNumWant = opts.maxNumWant ?? 200;
  const store = new SwarmStore({
    peerTtlMs: 2 * interval * 1000,
    maxSwarms: opts.maxSwarms ?? 10_000,
    maxPeersPerSwarm: opts.maxPeersPerSwarm ?? 2_000,
    maxPortsPerSource: opts.maxPortsPerSource ?? 64,
    maxPeersPerSource: opts.maxPeersPerSource ?? 1_000,
    now,
  });
  const secret = randomBytes(32);
  const connectionId = (address: string, port: number, period: number): bigint =>
    createHmac('sha256', secret).update(`${period}|${normalizeIp(address)}|${port}`).digest().readBigUInt64BE(0);
  const numWantOf = (n: number | undefined): number => (n === undefined || n < 0 ? DEFAULT_NUMWANT : Math.min(n, maxNumWant));

  const http = createServer((req, res) => {
    try {
      handleHttp(req, res);
    } catch (err) {
      if (!res.headersSent) reply(res, { 'failure reason': err instanceof Error ? err.message : 'internal error' });
      else res.destroy();
    }
  });
  const handleHttp = (req: IncomingMessage, res: ServerResponse): void => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q === -1 ? raw : raw.slice(0, q);
    const query = parseQueryBytes(q === -1 ? '' : raw.slice(q + 1));
    const remote = normalizeIp(req.socket.remoteAddress ?? '');
    if (req.method !== 'GET') return reply(res, { 'failure reason': 'only GET is supported' }, 405);
    if (path === '/announce') return reply(res, httpAnnounce(query, remote));
    if (path === '/scrape') return reply(res, httpScrape(query));
    return reply(res, { 'failure reason': 'not found' }, 404);
  };
  const httpAnnounce = (q: Map<string, Buffer[]>, remote: string): Encodable => {
    const one = (k: string): Buffer | undefined => q.get(k)?.[0];
    const int = (k: string): number | undefined => {
      const v = one(k)?.toString('latin1');
      return v !== undefined && /^-?\d{1,16}$/.test(v) ? Number(v) : undefined;
    };
    const infoHash = one('info_hash');
    const peerId = one('peer_id');
    const port = int('port');
    const left = int('left');
    const eventText = one('event')?.toString('latin1') ?? '';
    if (infoHash?.length !== 20) return { 'failure reason': 'info_hash must be 20 bytes' };
    if (peerId?.length !== 20) return { 'failure reason': 'peer_id must be 20 bytes' };
    if (port === undefined || port < 1 || port > 65535) return { 'failure reason': 'invalid port' };
    if (left === undefined || left < 0) return { 'failure reason': 'invalid left' };
    for (const k of ['uploaded', 'downloaded']) {
      if (q.has(k) && (int(k) ?? -1) < 0) return { 'failure reason': `invalid ${k}` };
    }
    if (!['', 'started', 'completed', 'stopped', 'empty'].includes(eventText)) return { 'failure reason': 'invalid event' };
    const event = eventText === '' || eventText === 'empty' ? undefined : (eventText as AnnounceEvent);
    const answer = store.announce({
      infoHashHex: toHex(infoHash),
      host: remote,
      port,
      peerId,
      left,
      ...(event === undefined ? {} : { event }),
      numWant: numWantOf(int('numwant')),
    });
    if (!answer.ok) return { 'failure reason': answer.reason };
    const head = { interval, 'min interval': Math.max(1, Math.trunc(interval / 2)), complete: answer.complete, incomplete: answer.incomplete };
    if (one('compact')?.toString('latin1') === '0') {
      const withId = one('no_peer_id')?.toString('latin1') !== '1';
      return { ...head, peers: answer.peers.map((p) => ({ ip: p.host, port: p.port, ...(withId ? { 'peer id': Buffer.from(p.peerId) } : {}) })) };
    }
    return { ...head, peers: encodeCompactPeers(answer.peers, 4), peers6: encodeCompactPeers(answer.peers, 6) };
  };
  const httpScrape = (q: Map<string, Buffer[]>): Encodable => {
    const hashes = q.get('info_hash') ?? [];
    if (hashes.length === 0) return { 'failure reason': 'scrape needs info_hash' };
    if (hashes.length > MAX_SCRAPE_HASHES) return { 'failure reason': `at most ${MAX_SCRAPE_HASHES} info hashes per scrape` };
    if (hashes.some((h) => h.length !== 20)) return { 'failure reason': 'info_hash must be 20 bytes' };
    const files = new Map<string, Encodable>();
    for (const h of hashes) files.set(h.toString('latin1'), { ...store.scrape(toHex(h)) });
    return { files };
  };

  const udp: Socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  const handleUdp = (msg: Buffer, address: string, port: number): void => {
    /** An error reply no larger than the request that caused it. */
    const fail = (transactionId: number, message: string): void => {
      udp.send(encodeErrorResponse(transactionId, message, msg.length), port, address);
    };
    let req: UdpRequest;
    try {
      req = decodeRequest(msg);
    } catch (err) {
      // Without a transaction id there is no one to answer.
      // The codec's messages are worded for a client ('udp tracker: ...'): the client knows.
      if (msg.length >= 16) fail(msg.readUInt32BE(12), err instanceof Error ? err.message.replace(/^udp tracker: /, '') : 'bad request');
      return;
    }
    const period = Math.floor(now() / CONNECTION_ID_PERIOD_MS);
    if (req.action === 'connect') {
      udp.send(encodeConnectResponse(req.transactionId, connectionId(address, port, period)), port, address);
      return;
    }
    if (req.connectionId !== connectionId(address, port, period) && req.connectionId !== connectionId(address, port, period - 1)) {
      fail(req.transactionId, 'invalid connection id');
      return;
    }
    if (req.action === 'scrape') {
      udp.send(encodeScrapeResponse(req.transactionId, req.infoHashes.map((h) => store.scrape(toHex(h)))), port, address);
      return;
    }
    if (req.port === 0) {
      fail(req.transactionId, 'invalid port');
      return;
    }
    const answer = store.announce({
      infoHashHex: toHex(req.infoHash),
      host: normalizeIp(address),
      port: req.port,
      peerId: req.peerId,
      left: req.left,
      ...(req.event === undefined ? {} : { event: req.event }),
      numWant: numWantOf(req.numWant),
    });
    if (!answer.ok) {
      fail(req.transactionId, answer.reason);
      return;
    }
    const peerFamily = family === 6 ? 6 : 4;
    const response = { transactionId: req.transactionId, interval, leechers: answer.incomplete, seeders: answer.complete, peers: answer.peers };
    udp.send(encodeAnnounceResponse(response, peerFamily), port, address);
  };
  udp.on('message', (msg, rinfo) => handleUdp(msg, rinfo.address, rinfo.port));
  // A send to a vanished client fails here; the tracker carries on.
  udp.on('error', () => undefined);
  http.on('error', () => undefined);
  http.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.httpPort ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(opts.udpPort ?? 0, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    http.close();
    throw err;
  }
  const sweeper = clock.setInterval(() => store.sweep(), Math.min(interval * 1000, 60_000));

  const httpPort = (http.address() as AddressInfo).port;
  const udpPort = udp.address().port;
  const urlHost = family === 6 ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    httpPort,
    udpPort,
    httpUrl: `http://${urlHost}:${httpPort}/announce`,
    udpUrl: `udp://${urlHost}:${udpPort}/announce`,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        sweeper.cancel();
        udp.close();
        http.closeAllConnections();
        http.close(() => resolve());
      });
      return closing;
    },
  };
}

function reply(res: ServerResponse, body: Encodable, status = 200): void {
  const bytes = encode(body);
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': bytes.length });
  res.end(bytes);
}
