/**
 * DHT peer discovery for a session (BEP 5): one DhtNode shared by every torrent of the
 * session (a magnet's included, before its metadata is known), periodic `get_peers` lookups
 * that feed each torrent, and `announce_peer` for our listen port. Callers keep private torrents away from it (BEP 27: no DHT, PEX or LSD).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DEFAULT_BOOTSTRAP, DhtNode, type BootstrapAddress, type DhtNodeOptions } from '../dht/index.js';
import type { PeerAddress } from '../metainfo/types.js';
import type { DatagramChannel } from '../util/datagram.js';
import { ipFamily } from '../util/ip.js';

export interface DhtDiscoveryOptions {
  readonly bootstrap: readonly BootstrapAddress[];
  /** UDP port to try first (BitTorrent clients use their TCP port); any free port if taken. */
  readonly port?: number;
  /** Routing table to load at start and save at close. */
  readonly stateFile?: string;
  /** 6: the IPv6 DHT of BEP 32 (a socket on '::', or '::1' for a loopback network). Default 4. */
  readonly family?: 4 | 6;
  /** Bind loopback and send only there. Default: when every bootstrap address is loopback. */
  readonly loopbackOnly?: boolean;
  /** Run on this shared socket (the listen port's) instead of binding one; `port` is then unused. */
  readonly channel?: DatagramChannel;
  /** Told our address as each answering node saw it (BEP 42 `ip`): votes for the external address. */
  readonly onExternalAddress?: (address: string, voter: string) => void;
}

export interface TrackOptions {
  /** Our TCP listen port, announced to the closest nodes after each lookup. */
  readonly announcePort: number;
  readonly onPeers: (peers: PeerAddress[]) => void;
  /** True while the torrent wants more peers: lookups then run every `busyIntervalMs`. */
  readonly wantMore: () => boolean;
  /** Default 30 s. */
  readonly busyIntervalMs?: number;
  /** Between lookups when peers are plentiful; BEP 5 tokens and announces age out after ~15 min. Default 5 min. */
  readonly idleIntervalMs?: number;
}

export interface DhtPairOptions {
  /** Default: the public routers. */
  readonly bootstrap?: readonly BootstrapAddress[];
  /** UDP port to try first, in both families. */
  readonly port: number;
  /** The IPv4 node runs on this shared socket instead of binding one. */
  readonly channel?: DatagramChannel;
  /** The IPv4 node's routing table. */
  readonly stateFile?: string;
  /** Told our address as each answering node saw it, in both families. */
  readonly onExternalAddress: (address: string, voter: string) => void;
}

/**
 * A session's DHTs: IPv4 literals and names bootstrap the BEP 5 DHT, IPv6 ones the BEP 32
 * DHT, which runs only when it has any (a host without IPv6 runs the IPv4 DHT alone). A
 * network bootstrapped only from loopback stays on loopback, in both families.
 */
export async function startDhts(opts: DhtPairOptions): Promise<{ v4: DhtDiscovery; v6: DhtDiscovery | undefined }> {
  const bootstrap = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const loopbackOnly = bootstrap.length > 0 && bootstrap.every((b) => isLoopbackHost(b.host));
  const { port, onExternalAddress } = opts;
  const v4 = await DhtDiscovery.start({
    loopbackOnly,
    bootstrap: bootstrap.filter((b) => ipFamily(b.host) !== 6),
    port,
    ...(opts.channel !== undefined ? { channel: opts.channel } : {}),
    ...(opts.stateFile !== undefined ? { stateFile: opts.stateFile } : {}),
    onExternalAddress,
  });
  const six = bootstrap.filter((b) => ipFamily(b.host) !== 4);
  const v6 = six.length > 0 ? await DhtDiscovery.start({ bootstrap: six, port, family: 6, loopbackOnly, onExternalAddress }).catch(() => undefined) : undefined;
  return { v4, v6 };
}

export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === 'localhost' || host === '::1';
}

export class DhtDiscovery {
  private readonly stops = new Set<() => void>();
  private closed = false;

  private constructor(
    readonly node: DhtNode,
    private readonly stateFile: string | undefined,
  ) {}

  /**
   * Bind and start bootstrapping in the background. A DHT bootstrapped only from loopback
   * addresses is a local test network: it binds 127.0.0.1 and never sends anywhere else.
   */
  static async start(opts: DhtDiscoveryOptions): Promise<DhtDiscovery> {
    const loopback = opts.loopbackOnly ?? (opts.bootstrap.length > 0 && opts.bootstrap.every((b) => isLoopbackHost(b.host)));
    const six = opts.family === 6;
    const base = {
      bootstrap: opts.bootstrap,
      family: six ? (6 as const) : (4 as const),
      host: six ? (loopback ? '::1' : '::') : loopback ? '127.0.0.1' : '0.0.0.0',
      ...(loopback ? { allowAddress: (h: string) => isLoopbackHost(h) } : {}),
      ...(opts.stateFile !== undefined ? { stateFile: opts.stateFile } : {}),
      ...(opts.onExternalAddress !== undefined ? { onExternalAddress: opts.onExternalAddress } : {}),
    };
    const node = opts.channel !== undefined ? await DhtNode.start({ ...base, channel: opts.channel }) : await bindNode(base, opts.port ?? 0);
    const d = new DhtDiscovery(node, opts.stateFile);
    node.bootstrap().catch(() => undefined);
    return d;
  }

  get port(): number {
    return this.node.port;
  }

  getPeers(infoHash: Uint8Array, options: { onPeer?: (peer: PeerAddress) => void; signal?: AbortSignal }): Promise<PeerAddress[]> {
    return this.node.getPeers(infoHash, options);
  }

  /** Look up peers now and periodically, announcing our port; returns a function that stops it. */
  track(infoHash: Uint8Array, opts: TrackOptions): () => void {
    const abort = new AbortController();
    const stop = (): void => {
      abort.abort();
      this.stops.delete(stop);
    };
    this.stops.add(stop);
    const loop = async (): Promise<void> => {
      while (!abort.signal.aborted && !this.closed) {
        try {
          const announcePort = opts.announcePort > 0 ? { announcePort: opts.announcePort } : {};
          await this.node.getPeers(infoHash, { onPeer: (p) => opts.onPeers([p]), signal: abort.signal, ...announcePort });
        } catch {
          // A failed round (no reachable node yet, node closed) is retried after the pause.
        }
        const ms = opts.wantMore() ? (opts.busyIntervalMs ?? 30_000) : (opts.idleIntervalMs ?? 300_000);
        await pause(ms, abort.signal);
      }
    };
    void loop();
    return stop;
  }

  /** Stop every lookup, save the routing table (when configured) and close the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stop of [...this.stops]) stop();
    const file = this.stateFile;
    if (file !== undefined) {
      await mkdir(dirname(file), { recursive: true })
        .then(() => this.node.save())
        .catch(() => undefined);
    }
    await this.node.close();
  }
}

/** On `port` if it is free, else on any. */
async function bindNode(options: DhtNodeOptions, port: number): Promise<DhtNode> {
  try {
    return await DhtNode.start({ ...options, port });
  } catch {
    return DhtNode.start({ ...options, port: 0 });
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    t.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}
