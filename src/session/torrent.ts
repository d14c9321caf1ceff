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
import { Announcer } from '../tracker/index.js';
import { systemClock, type Clock } from '../util/clock.js';
import { TesseraError } from '../util/errors.js';
import type { Client } from './client.js';

export type TorrentState = 'checking' | 'downloading' | 'seeding' | 'stopped' | 'error';

export interface TorrentEvents {
  onChecking?(checked: number, total: number): void;
  onStateChange?(state: TorrentState): void;
  onTrackerError?(message: string): void;
  onPeerBanned?(address: PeerAddress, reason: string): void;
  /** A resume record could not be written (the download goes on). */
  onResumeError?(message: string): void;
  /** The swarm's once-a-second download trace (`--verbose`). */
  onTrace?(line: string): void;
}

export interface TorrentOptions {
  outputDir: string;
  /** Peers to dial without any tracker. */
  peers?: PeerAddress[];
  /** Announce to the torrent's trackers (default true). */
  trackers?: boolean;
  /** Folder of resume records (see storage/resume.ts); without it every start rechecks. */
  resumeDir?: string;
  /** Period of the resume record while downloading (default 3 s). */
  resumeIntervalMs?: number;
  /** Ignore the resume record and read everything on disk. */
  recheck?: boolean;
  /** UDP tracker retransmission base (BEP 15's 15 s); shortened only by tests. */
  udpBaseTimeoutMs?: number;
  events?: TorrentEvents;
  /** Time for the swarm and the tracker schedule (default the system clock). */
  clock?: Clock;
}

export class SessionError extends TesseraError {}

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
  private announcer: Announcer | undefined;
  private readonly clock: Clock;
  private resumedBytes = 0;
  private existing = { trusted: 0, checked: 0 };
  private completeWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private failure: unknown;

  constructor(meta: Metainfo, client: Client, opts: TorrentOptions) {
    this.meta = meta;
    this.client = client;
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
  }

  /** Open the files, verify what is already there and start exchanging pieces. */
  async start(signal?: AbortSignal): Promise<void> {
    const info = this.meta.info;
    // 8 MiB of piece buffers keeps a loopback pipe full: measured no slower than 16, 32 or 64 MiB,
    // and each halving saved about 8 MiB of peak RSS. (Pieces over 4 MiB still get two buffers.)
    const { resumeDir, resumeIntervalMs } = this.opts;
    const resume =
      resumeDir === undefined
        ? undefined
        : {
            dir: resumeDir,
            infoHash: this.meta.infoHash,
            clock: this.clock,
            ...(resumeIntervalMs !== undefined ? { intervalMs: resumeIntervalMs } : {}),
            onError: (err: Error) => this.opts.events?.onResumeError?.(err.message),
          };
    this.storage = await TorrentStorage.open(this.opts.outputDir, info, { poolBytes: 8 << 20, ...(resume !== undefined ? { resume } : {}) });
    const existing = await this.storage.verifyExisting({
      recheck: this.opts.recheck === true,
      onProgress: (checked, total) => this.opts.events?.onChecking?.(checked, total),
      ...(signal !== undefined ? { signal } : {}),
    });
    const have = existing.have;
    this.existing = { trusted: existing.trusted, checked: existing.checked };
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
      clock: this.clock,
      encryption: this.client.encryption,
      events: {
        onComplete: () => this.onComplete(),
        onDiskError: (err) => this.fail(err),
        onPeerBanned: (a, reason) => this.opts.events?.onPeerBanned?.(a, reason),
        ...(this.opts.events?.onTrace !== undefined ? { onTrace: this.opts.events.onTrace } : {}),
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
      this.announcer = new Announcer({
        tiers: this.meta.announce,
        infoHash: this.meta.infoHash,
        peerId: this.client.peerId,
        port: this.client.port,
        stats: () => {
          const st = this.stats();
          return { uploaded: st.uploaded, downloaded: st.downloaded, left: st.totalBytes - st.bytesVerified };
        },
        // Few peers: ask again sooner, as far as the tracker's min interval allows.
        wantPeers: () => (this.swarm?.connectedCount ?? 0) < 5 && this.state === 'downloading',
        onPeers: (peers) => this.swarm?.addPeers(peers, 'tracker'),
        onError: (url, err) => this.opts.events?.onTrackerError?.(`${url}: ${err.message}`),
        onWarning: (url, warning) => this.opts.events?.onTrackerError?.(`${url}: tracker warning: ${warning}`),
        tracker: { udpBaseTimeoutMs: this.opts.udpBaseTimeoutMs ?? 5000, udpMaxRetries: 2, timeoutMs: 15_000 },
        clock: this.clock,
      });
      this.announcer.start();
    }
  }

  /** How `start` found the data on disk: pieces taken from the resume record, pieces read. */
  get startCheck(): { readonly trusted: number; readonly checked: number } {
    return this.existing;
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
    const now = this.clock.now();
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
    this.setState('stopped');
    this.client.unregister(this.meta.infoHash);
    this.swarm?.stop();
    await this.announcer?.stop();
    await this.storage?.close();
    for (const w of this.completeWaiters) w.reject(new SessionError('stopped', 'stopped before the download finished'));
    this.completeWaiters = [];
  }

  private onComplete(): void {
    if (this.state !== 'downloading' && this.state !== 'checking') return;
    this.setState('seeding');
    this.announcer?.complete();
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
}

function bytesOf(count: number, hasLast: boolean, pieceLength: number, total: number, pieceCount: number): number {
  if (count === 0) return 0;
  const last = total - (pieceCount - 1) * pieceLength;
  return hasLast ? (count - 1) * pieceLength + last : count * pieceLength;
}

