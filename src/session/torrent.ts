/**
 * One torrent in a session: storage, the swarm and the tracker schedule, orchestrated.
 *
 * Lifecycle (each arrow is one method; nothing else changes `state`):
 *   checking  -> downloading | seeding   open(): data on disk verified
 *   downloading -> seeding               every piece verified
 *   any       -> stopped                 stop(): trackers told, writes flushed
 *   any       -> error                   a disk error
 */
import type { Metainfo, PeerAddress } from '../metainfo/types.js';
import { TorrentStorage } from '../storage/index.js';
import { Swarm } from '../swarm/swarm.js';
import type { PeerSource } from '../swarm/peer-pool.js';
import { TrackerSet, type AnnounceEvent } from '../tracker/index.js';
import { Bitfield } from '../util/bitfield.js';
import { TesseraError } from '../util/errors.js';
import type { Client } from './client.js';

export type TorrentState = 'checking' | 'downloading' | 'seeding' | 'stopped' | 'error';

export interface TorrentEvents {
  onChecking?(checked: number, total: number): void;
  onStateChange?(state: TorrentState): void;
  onTrackerError?(message: string): void;
  onPeerBanned?(address: PeerAddress, reason: string): void;
}

export interface TorrentOptions {
  outputDir: string;
  /** Peers to dial without any tracker. */
  peers?: PeerAddress[];
  /** Announce to the torrent's trackers (default true). */
  trackers?: boolean;
  /** UDP tracker retransmission base (BEP 15's 15 s); shortened only by tests. */
  udpBaseTimeoutMs?: number;
  events?: TorrentEvents;
}

export class SessionError extends TesseraError {}

/** Re-announce bounds: never more often than a minute, never less than every half hour. */
export const MIN_ANNOUNCE_S = 60;
export const MAX_ANNOUNCE_S = 1800;

export interface TorrentStats {
  state: TorrentState;
  verified: number;
  pieceCount: number;
  bytesVerified: number;
  totalBytes: number;
  downloaded: number;
  uploaded: number;
  downRate: number;
  upRate: number;
  peers: number;
  knownPeers: number;
  hashFailures: number;
  banned: number;
  /** Bytes verified on disk before this run's swarm started (resume). */
  resumedBytes: number;
}

export class Torrent {
  state: TorrentState = 'checking';
  readonly meta: Metainfo;
  private readonly opts: TorrentOptions;
  private readonly client: Client;
  private storage: TorrentStorage | undefined;
  private swarm: Swarm | undefined;
  private trackers: TrackerSet | undefined;
  private announceTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private resumedBytes = 0;
  private completeWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: unknown;
  private announcing: Promise<void> | undefined;

  constructor(meta: Metainfo, client: Client, opts: TorrentOptions) {
    this.meta = meta;
    this.client = client;
    this.opts = opts;
  }

  /** Open the files, verify what is already there and start exchanging pieces. */
  async start(signal?: AbortSignal): Promise<void> {
    const info = this.meta.info;
    // 8 MiB of piece buffers keeps a loopback pipe full: measured no slower than 16, 32 or 64 MiB,
    // and each halving saved about 8 MiB of peak RSS. (Pieces over 4 MiB still get two buffers.)
    this.storage = await TorrentStorage.open(this.opts.outputDir, info, { poolBytes: 8 << 20 });
    const have = this.storage.fresh
      ? new Bitfield(info.pieceCount)
      : await this.storage.recheck((checked, total) => this.opts.events?.onChecking?.(checked, total), signal);
    if (signal?.aborted === true) return;
    this.resumedBytes = bytesOf(have.count, have.has(info.pieceCount - 1), info.pieceLength, info.length, info.pieceCount);
    const swarm = new Swarm({
      infoHash: this.meta.infoHash,
      peerId: this.client.peerId,
      pieceCount: info.pieceCount,
      pieceLength: info.pieceLength,
      totalLength: info.length,
      have,
      storage: this.storage,
      infoBytes: this.meta.infoBytes,
      listenPort: this.client.port,
      pex: !info.private,
      events: {
        onComplete: () => this.onComplete(),
        onDiskError: (err) => this.fail(err),
        onPeerBanned: (a, reason) => this.opts.events?.onPeerBanned?.(a, reason),
      },
    });
    this.swarm = swarm;
    this.client.register(this.meta.infoHash, { identity: swarm.localIdentity, handler: swarm, maxBitfield: swarm.maxBitfieldBytes });
    this.setState(have.complete ? 'seeding' : 'downloading');
    // The tracker lists us too: never dial our own listening port on this machine.
    for (const host of ['127.0.0.1', '::1']) swarm.pool.addSelf({ host, port: this.client.port });
    swarm.start();
    if (this.opts.peers !== undefined) swarm.addPeers(this.opts.peers, 'manual');
    if (this.opts.trackers !== false && this.meta.announce.length > 0) {
      this.trackers = new TrackerSet(this.meta.announce, {
        udpBaseTimeoutMs: this.opts.udpBaseTimeoutMs ?? 5000,
        udpMaxRetries: 2,
        timeoutMs: 15_000,
      });
      this.announce('started');
    }
  }

  addPeers(peers: PeerAddress[], source: PeerSource): void {
    this.swarm?.addPeers(peers, source);
  }

  /** Resolves once every piece is verified on disk; rejects on a disk error. */
  whenComplete(): Promise<void> {
    if (this.state === 'seeding') return Promise.resolve();
    if (this.state === 'error') return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.completeWaiters.push({ resolve, reject }));
  }

  stats(): TorrentStats {
    const info = this.meta.info;
    const s = this.swarm;
    const now = Date.now();
    const verified = s?.have.count ?? 0;
    const lastHave = s?.have.has(info.pieceCount - 1) ?? false;
    return {
      state: this.state,
      verified,
      pieceCount: info.pieceCount,
      bytesVerified: bytesOf(verified, lastHave, info.pieceLength, info.length, info.pieceCount),
      totalBytes: info.length,
      downloaded: s?.downloaded ?? 0,
      uploaded: s?.uploaded ?? 0,
      downRate: s?.downRate.rate(now) ?? 0,
      upRate: s?.upRate.rate(now) ?? 0,
      peers: s?.connectedCount ?? 0,
      knownPeers: s?.pool.size ?? 0,
      hashFailures: s?.hashFailures ?? 0,
      banned: s?.pool.bannedCount ?? 0,
      resumedBytes: this.resumedBytes,
    };
  }

  /** Stop: tell the trackers (bounded wait), close every peer, flush and close the files. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.swarm !== undefined;
    this.setState('stopped');
    if (this.announceTimer !== undefined) clearTimeout(this.announceTimer);
    this.abort.abort();
    this.client.unregister(this.meta.infoHash);
    this.swarm?.stop();
    await this.announcing?.catch(() => undefined);
    if (wasRunning && this.trackers !== undefined) {
      const stopped = this.trackers.announce({ ...this.announceParams(), event: 'stopped' }).catch(() => undefined);
      await Promise.race([stopped, delay(3000)]);
    }
    await this.storage?.close();
    for (const w of this.completeWaiters) w.reject(new SessionError('stopped', 'stopped before the download finished'));
    this.completeWaiters = [];
  }

  private onComplete(): void {
    if (this.state !== 'downloading' && this.state !== 'checking') return;
    this.setState('seeding');
    if (this.trackers !== undefined) this.announce('completed');
    for (const w of this.completeWaiters) w.resolve();
    this.completeWaiters = [];
  }

  private fail(err: unknown): void {
    if (this.state === 'error' || this.state === 'stopped') return;
    this.failure = err;
    this.setState('error');
    this.swarm?.stop();
    for (const w of this.completeWaiters) w.reject(err);
    this.completeWaiters = [];
  }

  private setState(s: TorrentState): void {
    if (this.state === s) return;
    this.state = s;
    this.opts.events?.onStateChange?.(s);
  }

  private announceParams(): { infoHash: Uint8Array; peerId: Uint8Array; port: number; uploaded: number; downloaded: number; left: number } {
    const st = this.stats();
    return {
      infoHash: this.meta.infoHash,
      peerId: this.client.peerId,
      port: this.client.port,
      uploaded: st.uploaded,
      downloaded: st.downloaded,
      left: st.totalBytes - st.bytesVerified,
    };
  }

  private announce(event?: AnnounceEvent): void {
    const trackers = this.trackers;
    if (trackers === undefined || this.state === 'stopped') return;
    if (this.announceTimer !== undefined) clearTimeout(this.announceTimer);
    const run = async (): Promise<void> => {
      let next = MIN_ANNOUNCE_S;
      try {
        const { result } = await trackers.announce({
          ...this.announceParams(),
          ...(event !== undefined ? { event } : {}),
          numWant: 200,
          signal: this.abort.signal,
        });
        this.swarm?.addPeers(result.peers, 'tracker');
        if (result.warning !== undefined) this.opts.events?.onTrackerError?.(`tracker warning: ${result.warning}`);
        next = Math.min(MAX_ANNOUNCE_S, Math.max(MIN_ANNOUNCE_S, result.interval, result.minInterval ?? 0));
        // Few peers: ask again sooner, as far as the tracker's min interval allows.
        if ((this.swarm?.connectedCount ?? 0) < 5 && this.state === 'downloading') next = Math.max(MIN_ANNOUNCE_S, result.minInterval ?? 0);
      } catch (err) {
        if (this.state !== 'stopped') this.opts.events?.onTrackerError?.(err instanceof Error ? err.message : String(err));
      }
      if (this.state === 'stopped') return;
      this.announceTimer = setTimeout(() => this.announce(), next * 1000);
      this.announceTimer.unref();
    };
    this.announcing = run();
  }
}

function bytesOf(count: number, hasLast: boolean, pieceLength: number, total: number, pieceCount: number): number {
  if (count === 0) return 0;
  const last = total - (pieceCount - 1) * pieceLength;
  return hasLast ? (count - 1) * pieceLength + last : count * pieceLength;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
