/**
 * `Session`: the center of the engine. It owns the listen socket and the peer id, the DHT
 * node (BEP 5), local service discovery (BEP 14), the session-wide connection limit and any
 * number of torrents, each reached through a `TorrentHandle`.
 *
 *   const session = new Session({ dht: false });
 *   const handle = await session.add('file.torrent', { path: 'downloads' });
 *   handle.on('progress', (p) => console.log(p.fraction));
 *   await handle.whenDone();
 *   await session.close();
 *
 * Private torrents (BEP 27) never reach the DHT or LSD; a magnet link's privacy is known only
 * once its metadata arrives, and its DHT lookups stop then if it turns out private.
 */
import type { BootstrapAddress } from '../dht/index.js';
import type { PeerAddress } from '../metainfo/types.js';
import type { EncryptionPolicy, MismatchNote } from '../mse/index.js';
import type { PortMapEvent, PortMapper, PortMapperOptions } from '../portmap/index.js';
import { BandwidthLimit } from '../swarm/bandwidth.js';
import { UdpTrackerClient } from '../tracker/index.js';
import { toHex } from '../util/bytes.js';
import { systemClock, type Clock } from '../util/clock.js';
import { Client } from './client.js';
import type { DhtDiscovery } from './discovery.js';
import { SessionError } from './errors.js';
import { ExternalAddressStore } from './external-address.js';
import { TorrentHandle, type HandleOwner } from './handle.js';
import type { LocalDiscovery } from './lsd.js';
import { resolveSource, type TorrentSource } from './source.js';
import { Torrent } from './torrent.js';
import { WorkerPool } from '../storage/worker-pool.js';

export interface DhtOptions {
  /** Nodes to join through. Default: the public routers. */
  readonly bootstrap?: readonly BootstrapAddress[];
  /** UDP port to try first. Default: the TCP listen port. */
  readonly port?: number;
  /** Routing table loaded at start and saved at close. Default: none. */
  readonly stateFile?: string;
}

export interface SessionOptions {
  /** TCP listen port; 0 picks a free one. Default: the first free of 6881–6889, else any. */
  readonly port?: number;
  /** Listen address. Default: all interfaces (IPv6 and IPv4 where available). */
  readonly host?: string;
  /** 20 bytes. Default: a fresh `-TS0100-` id. */
  readonly peerId?: Uint8Array;
  /** `false` runs without the DHT. Default: on, bootstrapped from the public routers. */
  readonly dht?: false | DhtOptions;
  /** Announce torrents on the local network (BEP 14). Default false. */
  readonly lsd?: boolean;
  /** Connections over all torrents: incoming ones past it are refused. Default 200. */
  readonly maxConnections?: number;
  /** Connections per torrent (never above `maxConnections`). Default 60. */
  readonly maxConnectionsPerTorrent?: number;
  /** Connections one IP may hold in a torrent. Default 3; raised where several peers share an address, as on loopback. */
  readonly maxPeersPerIp?: number;
  /** How long `close()` and `remove()` wait for trackers to acknowledge `stopped`. Default 3000 ms. */
  readonly stopTimeoutMs?: number;
  /** Time source for the session's timers (tests pass a fake one). Default: the system clock. */
  readonly clock?: Clock;
  /** Download limit over all torrents, in bytes per second. Default 0: none. */
  readonly maxDownloadRate?: number;
  /** Upload limit over all torrents, in bytes per second. Default 0: none. */
  readonly maxUploadRate?: number;
  /** UDP tracker retransmission base (BEP 15 says 15 s). Default 5000 ms. */
  readonly udpTrackerTimeoutMs?: number;
  /**
   * Folder for resume records (a verified-pieces record per torrent and download folder): a
   * restart then reads only the files that changed. Default: none, every start rechecks.
   */
  readonly resumeDir?: string;
  /** MSE/PE protocol encryption for every connection, in and out. Default 'prefer'. */
  readonly encryption?: EncryptionPolicy;
  /** Told of each peer whose encryption policy did not meet ours. */
  readonly onEncryptionMismatch?: (note: MismatchNote) => void;
  /** uTP (BEP 29) besides TCP, on the UDP port of the listen port's number: tried first when dialling, accepted always. Default true. */
  readonly utp?: boolean;
  /** How often a downloading torrent's resume record is written. Default 3000 ms. */
  readonly resumeIntervalMs?: number;
  /**
   * Certificate authorities (PEM) trusted for HTTPS web seeds besides the system's, e.g. a
   * private mirror's own CA. Verification is never turned off.
   */
  readonly webSeedCa?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Ask the default gateway to forward the listen port (TCP) and the DHT's UDP port, by UPnP
   * IGD and PCP (or NAT-PMP); the mappings are renewed while the session runs and removed at
   * `close()` (waiting at most 2 s). Default false: a library sends nothing to the LAN unasked
   * (the CLI turns it on).
   */
  readonly portMapping?: boolean | PortMappingOptions;
  /**
   * Threads that hash and write for every torrent of the session (one pool, shared fairly).
   * Default: one per core, at least 2 and at most 8.
   */
  readonly storageWorkers?: number;
}

/** Port mapping with an observer, or at a router other than the default gateway (as in tests). */
export interface PortMappingOptions extends Partial<Pick<PortMapperOptions, 'gateway' | 'natPmpPort' | 'ssdpTarget' | 'methods'>> {
  readonly onEvent?: (event: PortMapEvent) => void;
}

export interface AddOptions {
  /** Download folder: the torrent's file (or folder) is created inside it. Default '.'. */
  readonly path?: string;
  /** Add without starting; `handle.resume()` starts it. */
  readonly paused?: boolean;
  /** Peers to dial besides those the trackers, DHT, PEX and LSD find. */
  readonly peers?: readonly PeerAddress[];
  /** Announce to the torrent's trackers. Default true. */
  readonly trackers?: boolean;
  /** Pause once uploaded ≥ ratio × size, after completion. Default: seed until stopped. */
  readonly seedRatio?: number;
  /** Pause after seeding this long. Default: seed until stopped. */
  readonly seedTimeMs?: number;
  /** Pause after seeding this long without uploading a byte. Default: seed until stopped. */
  readonly seedIdleMs?: number;
  /** A magnet fails with `no-metadata` when no peer has offered or sent metadata for this long. Default: wait. */
  readonly metadataTimeoutMs?: number;
  /** Stops the torrent and removes it from the session (trackers told); `whenDone()` rejects with `aborted`. */
  readonly signal?: AbortSignal;
  /** This torrent's download limit in bytes per second (the session's applies too). Default 0: none. */
  readonly maxDownloadRate?: number;
  /** This torrent's upload limit in bytes per second (the session's applies too). Default 0: none. */
  readonly maxUploadRate?: number;
  /** For an http(s) source: limit for the whole fetch. Default 30 s. */
  readonly fetchTimeoutMs?: number;
  /** Ignore the resume record: read and hash all data already on disk. */
  readonly recheck?: boolean;
  /** Emit `trace` events (the swarm's per-second diagnostics). */
  readonly trace?: boolean;
  /** Web seeds (BEP 19 http/https URLs) to use besides the torrent's own. */
  readonly webSeeds?: readonly string[];
  /** `false`: ignore the torrent's `url-list` and the magnet's `ws` (`webSeeds` still apply). Default true. */
  readonly torrentWebSeeds?: boolean;
}

export class Session {
  private readonly opts: SessionOptions;
  private readonly clock: Clock;
  private readonly client: Client;
  private readonly handles = new Map<string, { handle: TorrentHandle; torrent: Torrent; untrack: (() => void) | undefined }>();
  private dht: DhtDiscovery | undefined;
  /** The IPv6 DHT (BEP 32), beside the IPv4 one, when bootstrap addresses for it exist. */
  private dht6: DhtDiscovery | undefined;
  /** The port mapper, once its module is loaded (see `startPortMapping`). */
  private portMapping: Promise<PortMapper> | undefined;
  /** Every torrent's UDP tracker exchanges, on the listen port's socket when uTP holds it. */
  private udpTrackers: UdpTrackerClient | undefined;
  private lsd: LocalDiscovery | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly owner: HandleOwner = { detach: (h) => this.detach(h) };
  private readonly downLimit: BandwidthLimit;
  private readonly upLimit: BandwidthLimit;
  /**
   * Our external address: the router's answer, else what enough DHT nodes and peers say. It
   * gives the DHT nodes their BEP 42 ids.
   */
  private readonly external: ExternalAddressStore;
  /** Started with the first torrent that opens its files, stopped by `close`. */
  private storagePool: WorkerPool | undefined;
  private readonly sharedStorage = (): WorkerPool => (this.storagePool ??= new WorkerPool(this.opts.storageWorkers));

  constructor(options: SessionOptions = {}) {
    this.opts = options;
    this.clock = options.clock ?? systemClock;
    this.external = new ExternalAddressStore({ clock: this.clock, onChange: (family, address) => this.adoptExternalAddress(family, address) });
    const max = options.maxConnections ?? 200;
    this.downLimit = new BandwidthLimit(options.maxDownloadRate ?? 0, this.clock);
    this.upLimit = new BandwidthLimit(options.maxUploadRate ?? 0, this.clock);
    this.client = new Client({
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.peerId !== undefined ? { peerId: options.peerId } : {}),
      clock: this.clock,
      ...(options.encryption !== undefined ? { encryption: options.encryption } : {}),
      ...(options.onEncryptionMismatch !== undefined ? { onEncryptionMismatch: options.onEncryptionMismatch } : {}),
      ...(options.utp !== undefined ? { utp: options.utp } : {}),
      accept: () => this.connectionCount() < max,
    });
  }

  /** Limits over all torrents in bytes per second (0: none); each torrent's own apply too. */
  setRateLimits(limits: { readonly download?: number; readonly upload?: number }): void {
    if (limits.download !== undefined) this.downLimit.setRate(limits.download);
    if (limits.upload !== undefined) this.upLimit.setRate(limits.upload);
  }

  /** Our 20-byte peer id. */
  get peerId(): Uint8Array {
    return this.client.peerId;
  }

  /** The TCP port we listen on (0 before `listen()` or the first `add`). */
  get port(): number {
    return this.client.port;
  }

  /** Peers whose encryption policy did not meet ours, in words; undefined when none. */
  encryptionMismatch(): string | undefined {
    return this.client.encryption.report?.describe();
  }

  /** The UDP port of the DHT node, when it runs. */
  get dhtPort(): number | undefined {
    return this.dht?.port;
  }

  /**
   * Our external address (IPv4 first): the router's answer once port mapping learned it, else
   * the one enough DHT nodes and peers agree they see.
   */
  get externalAddress(): string | undefined {
    return this.external.address(4) ?? this.external.address(6);
  }

  /** The IPv4 DHT node's id (BEP 42: it follows the external address), when the DHT runs. */
  get dhtNodeId(): Uint8Array | undefined {
    return this.dht?.node.id;
  }

  get torrents(): TorrentHandle[] {
    return [...this.handles.values()].map((e) => e.handle);
  }

  /** The torrent with this hex info hash, if the session holds it. */
  get(infoHash: string): TorrentHandle | undefined {
    return this.handles.get(infoHash.toLowerCase())?.handle;
  }

  /** Open the listen socket and start the DHT and LSD. `add` does it on first use. */
  listen(): Promise<void> {
    this.starting ??= this.start();
    return this.starting;
  }

  /**
   * Add a torrent: a .torrent (bytes or a path), a magnet link, a bare info hash (40 hex or 32
   * base32 digits) or an http(s) URL of a .torrent. Resolves once the torrent is in the
   * session (its data is checked and its metadata fetched afterwards: watch `state`). Rejects
   * with `MetainfoError` for a bad torrent or magnet, `SessionError` `bad-source`,
   * `duplicate`, `aborted` or `closed`.
   */
  async add(source: TorrentSource, options: AddOptions = {}): Promise<TorrentHandle> {
    const signal = options.signal;
    const aborted = (): SessionError => new SessionError('aborted', 'adding the torrent was aborted');
    const isAborted = (): boolean => signal?.aborted === true;
    if (this.closing !== undefined) throw new SessionError('closed', 'the session is closed');
    if (isAborted()) throw aborted();
    const resolved = await resolveSource(source, {
      ...(signal !== undefined ? { signal } : {}),
      ...(options.fetchTimeoutMs !== undefined ? { fetchTimeoutMs: options.fetchTimeoutMs } : {}),
    });
    await this.listen();
    if (isAborted()) throw aborted();
    if (this.closing !== undefined) throw new SessionError('closed', 'the session is closed');
    let infoHash: Uint8Array;
    let name: string | undefined;
    let torrentSource: ConstructorParameters<typeof Torrent>[0];
    if (resolved.kind === 'torrent') {
      // Without its piece layers a v2-only torrent's pieces cannot be verified (fetching them
      // from peers by hash request is not built): every piece would fail and honest peers be banned.
      if (resolved.meta.v2 !== undefined && !resolved.meta.hybrid && !resolved.meta.v2.layersComplete) {
        throw new SessionError('bad-source', 'this v2 torrent lacks piece layers, which Tessera cannot fetch from peers yet');
      }
      infoHash = resolved.meta.infoHash;
      name = resolved.meta.info.name;
      torrentSource = { meta: resolved.meta };
    } else {
      const m = resolved.magnet;
      // BEP 52: a v2-only link's swarm is its SHA-256 info hash truncated to 20 bytes; a hybrid
      // link (both xt) is fetched in its v1 swarm and checked against both hashes.
      const swarmHash = m.infoHash ?? m.infoHashV2?.subarray(0, 20);
      if (swarmHash === undefined) throw new SessionError('bad-source', 'this magnet link has no info hash');
      infoHash = swarmHash;
      name = m.name;
      torrentSource = { magnet: m, swarmHash };
    }
    const hex = toHex(infoHash);
    if (this.handles.has(hex)) throw new SessionError('duplicate', `the session already has torrent ${hex}`);
    const handle = new TorrentHandle(hex, options.path ?? '.', name, this.owner);
    const perTorrent = Math.min(this.opts.maxConnectionsPerTorrent ?? 60, this.opts.maxConnections ?? 200);
    const torrent = new Torrent(torrentSource, this.client, {
      outputDir: options.path ?? '.',
      clock: this.clock,
      events: handle.sink,
      maxConnections: perTorrent,
      ...(this.opts.maxPeersPerIp !== undefined ? { maxPeersPerIp: this.opts.maxPeersPerIp } : {}),
      downLimit: new BandwidthLimit(options.maxDownloadRate ?? 0, this.clock, this.downLimit),
      upLimit: new BandwidthLimit(options.maxUploadRate ?? 0, this.clock, this.upLimit),
      ...(options.peers !== undefined ? { peers: options.peers } : {}),
      ...(options.trackers !== undefined ? { trackers: options.trackers } : {}),
      ...(options.seedRatio !== undefined ? { seedRatio: options.seedRatio } : {}),
      ...(options.seedTimeMs !== undefined ? { seedTimeMs: options.seedTimeMs } : {}),
      ...(options.seedIdleMs !== undefined ? { seedIdleMs: options.seedIdleMs } : {}),
      ...(options.metadataTimeoutMs !== undefined ? { metadataTimeoutMs: options.metadataTimeoutMs } : {}),
      ...(this.opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: this.opts.stopTimeoutMs } : {}),
      ...(this.opts.udpTrackerTimeoutMs !== undefined ? { udpBaseTimeoutMs: this.opts.udpTrackerTimeoutMs } : {}),
      ...(this.udpTrackers !== undefined ? { udpTrackers: this.udpTrackers } : {}),
      ...(this.opts.resumeDir !== undefined ? { resumeDir: this.opts.resumeDir } : {}),
      ...(this.opts.resumeIntervalMs !== undefined ? { resumeIntervalMs: this.opts.resumeIntervalMs } : {}),
      ...(options.recheck === true ? { recheck: true } : {}),
      ...(options.trace === true ? { trace: true } : {}),
      ...(options.webSeeds !== undefined ? { webSeeds: options.webSeeds } : {}),
      ...(options.torrentWebSeeds === false ? { torrentWebSeeds: false } : {}),
      ...(this.opts.webSeedCa !== undefined ? { webSeedCa: this.opts.webSeedCa } : {}),
      storagePool: this.sharedStorage,
      externalAddress: { vote: (address, voter) => this.external.vote(address, voter), forTrackers: () => this.external.forTrackers() },
    });
    handle.bind(torrent);
    const entry = { handle, torrent, untrack: undefined as (() => void) | undefined };
    this.handles.set(hex, entry);
    if (signal !== undefined) {
      // A disk error while closing cannot be reported to anyone waiting: whenDone says aborted.
      const onAbort = (): void => void handle.stopWith(new SessionError('aborted', 'the torrent was aborted before it finished')).catch(() => undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      handle.on('state', (s) => {
        if (s === 'stopped' || s === 'error') signal.removeEventListener('abort', onAbort);
      });
    }
    this.discover(entry);
    handle.on('metadata', () => {
      if (torrent.isPrivate) {
        entry.untrack?.();
        entry.untrack = undefined;
      } else this.lsd?.announce([infoHash]);
    });
    if (options.paused !== true) torrent.resume();
    return handle;
  }

  /**
   * Stop every torrent (trackers told `stopped`, within `stopTimeoutMs`), save the DHT routing
   * table when configured, close every socket. `whenDone()` of unfinished torrents rejects
   * with `stopped`.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting?.catch(() => undefined);
      await Promise.all(this.torrents.map((h) => h.stopWith(new SessionError('stopped', 'the session was closed before the torrent finished'))));
      await this.lsd?.close();
      await (await this.portMapping)?.close();
      await this.dht?.close();
      await this.dht6?.close();
      this.udpTrackers?.close();
      await this.client.close();
      await this.storagePool?.terminate();
    })();
    return this.closing;
  }

  private async start(): Promise<void> {
    await this.client.listen();
    const trackerChannel = this.client.datagramChannel('other');
    this.udpTrackers = new UdpTrackerClient({
      baseTimeoutMs: this.opts.udpTrackerTimeoutMs ?? 5000,
      maxRetries: 2,
      clock: this.clock,
      ...(trackerChannel !== undefined ? { channel: trackerChannel } : {}),
    });
    const dht = this.opts.dht;
    if (dht !== false) {
      // Loaded only when used, as port mapping and LSD are: a session without them starts sooner.
      const { startDhts } = await import('./discovery.js');
      const port = dht?.port ?? this.client.port;
      // On the listen port's socket, shared with uTP, unless another port was asked for.
      const channel = port === this.client.port ? this.client.datagramChannel('dht') : undefined;
      const nodes = await startDhts({
        port,
        ...(dht?.bootstrap !== undefined ? { bootstrap: dht.bootstrap } : {}),
        ...(channel !== undefined ? { channel } : {}),
        ...(dht?.stateFile !== undefined ? { stateFile: dht.stateFile } : {}),
        onExternalAddress: (address, voter) => this.external.vote(address, voter),
      });
      this.dht = nodes.v4;
      this.dht6 = nodes.v6;
      for (const family of [4, 6] as const) {
        const known = this.external.address(family);
        if (known !== undefined) this.adoptExternalAddress(family, known);
      }
    }
    const mapping = this.opts.portMapping;
    if (mapping !== undefined && mapping !== false) this.portMapping = this.startPortMapping(mapping);
    // Best effort: a machine without a multicast route simply finds no local peers.
    if (this.opts.lsd === true) {
      const { LocalDiscovery } = await import('./lsd.js');
      this.lsd = await LocalDiscovery.start({ port: this.client.port, onPeer: (hex, peer) => this.handles.get(hex)?.torrent.addPeers([peer], 'lsd') }).catch(() => undefined);
    }
  }

  /**
   * In the background, from loading the module on: a LAN without an answering router costs a
   * few seconds, once, and nothing waits for it.
   */
  private async startPortMapping(mapping: true | PortMappingOptions): Promise<PortMapper> {
    const { PortMapper } = await import('../portmap/index.js');
    const { onEvent, ...where } = mapping === true ? {} : mapping;
    const mapper = new PortMapper({
      tcpPort: this.client.port,
      ...(this.dht !== undefined ? { udpPort: this.dht.port } : {}),
      clock: this.clock,
      ...where,
      onEvent: (event) => {
        if (event.kind === 'external-address') this.external.fromRouter(event.address);
        onEvent?.(event);
      },
    });
    void mapper.start();
    return mapper;
  }

  /** BEP 42: the DHT node of that family takes an id that fits the address, and rejoins. */
  private adoptExternalAddress(family: 4 | 6, address: string): void {
    (family === 4 ? this.dht : this.dht6)?.node.adoptExternalAddress(address);
  }

  /** DHT lookups and LSD announces for a torrent not known to be private. */
  private discover(entry: { torrent: Torrent; untrack: (() => void) | undefined }): void {
    const t = entry.torrent;
    if (t.isPrivate) return;
    // A hybrid is also looked up and announced under its truncated v2 hash (BEP 52), in both DHTs.
    const v2 = t.meta?.hybrid === true ? t.meta.v2?.infoHash.subarray(0, 20) : undefined;
    const hashes = [t.infoHash, ...(v2 === undefined ? [] : [v2])];
    const untracks = [this.dht, this.dht6].flatMap((dht) =>
      dht === undefined
        ? []
        : hashes.map((hash) =>
            dht.track(hash, {
              announcePort: this.client.port,
              onPeers: (found) => {
                if (t.state !== 'paused' && !t.isPrivate) t.addPeers(found, 'dht');
              },
              wantMore: () => t.wantsPeers(),
            }),
          ),
    );
    if (untracks.length > 0) entry.untrack = () => untracks.forEach((u) => u());
    if (t.meta !== undefined) this.lsd?.announce([t.infoHash]);
  }

  private detach(handle: TorrentHandle): void {
    const entry = this.handles.get(handle.infoHash);
    if (entry?.handle !== handle) return;
    entry.untrack?.();
    this.lsd?.withdraw([entry.torrent.infoHash]);
    this.handles.delete(handle.infoHash);
  }

  private connectionCount(): number {
    let n = 0;
    for (const e of this.handles.values()) n += e.torrent.stats().peers;
    return n;
  }
}
