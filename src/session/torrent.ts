/**
 * One torrent in a session: metadata, storage, the swarm and the tracker schedule,
 * orchestrated. It decides nothing about pieces or peers itself; it moves between states
 * and hands its connections from one phase to the next. Its bookkeeping lives apart
 * (torrent-types.ts, file-selection.ts, announce.ts, web-seeds.ts, the metadata phase); what
 * stays is the state machine, slightly over 500 lines, kept whole so every transition reads
 * in one place.
 *
 * State machine (each arrow is one method; nothing else changes `state`):
 *   metadata    -> checking              metadata verified (magnet): the same connections carry on
 *   checking    -> downloading | seeding the data on disk verified (or known from before a pause)
 *   downloading -> seeding               every piece verified
 *   metadata | checking | downloading | seeding -> paused    pause(): trackers told, peers closed
 *   paused      -> metadata | checking   resume()
 *   any         -> stopped               stop(): trackers told (bounded wait), writes flushed
 *   any but stopped -> error             a disk error, unusable metadata, no metadata in time
 */
import type { MagnetLink, Metainfo, PeerAddress } from '../metainfo/types.js';
import { TorrentStorage } from '../storage/index.js';
import { partFileName } from '../storage/part-file.js';
import { NORMAL, SKIP } from '../swarm/piece-priority.js';
import { Swarm } from '../swarm/swarm.js';
import { PeerPool, type PeerSource } from '../swarm/peer-pool.js';
import type { Announcer } from '../tracker/index.js';
import type { Bitfield } from '../util/bitfield.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { makeReserved } from '../wire/index.js';
import type { Client } from './client.js';
import { UNKNOWN_LEFT, startAnnouncers } from './announce.js';
import { noMetadataError } from './errors.js';
import { FileSelection, bytesOf, skipFlags } from './file-selection.js';
import { MAX_BITFIELD_BYTES, MetadataPhase, type HeldConnection } from './metadata-phase.js';
import type { FoundCounts, SeedLimits, TorrentOptions, TorrentState, TorrentStats } from './torrent-types.js';

export class Torrent {
  state: TorrentState = 'paused';
  readonly infoHash: Uint8Array;
  meta: Metainfo | undefined;
  torrentBytes: Uint8Array | undefined;
  private readonly magnet: MagnetLink | undefined;
  private readonly client: Client;
  private readonly opts: TorrentOptions;
  private readonly clock: Clock;
  private readonly pool = new PeerPool();
  private readonly identity;
  private readonly found: FoundCounts = { tracker: 0, dht: 0, pex: 0, lsd: 0, manual: 0, incoming: 0 };
  private phase: MetadataPhase | undefined;
  private storage: TorrentStorage | undefined;
  private swarm: Swarm | undefined;
  /** Verified pieces, kept across a pause so resuming needs no recheck. */
  private have: Bitfield | undefined;
  /** The tracker schedule of the current run (a new one after each resume). */
  /** One per swarm the torrent joins: a hybrid announces its v1 and its truncated v2 hash. */
  private announcers: Announcer[] | undefined;
  private tickTimer: TimerHandle | undefined;
  /** Aborts what the current run awaits (recheck, announces) on pause or stop. */
  private run = new AbortController();
  private resumedBytes = 0;
  private urgent: number[] = [];
  private sequential = false;
  /** Undefined while every file is at the normal level. */
  private selection: FileSelection | undefined;
  /** Priority changes apply one after another (each may move bytes out of the part file). */
  private applying: Promise<void> = Promise.resolve();
  private startCheck: { trusted: number; checked: number } | undefined;
  private seedingSince: number | undefined;
  private seedLimits: SeedLimits;
  /** Transfer totals of the runs before the current one (each resume starts a new swarm). */
  private earlier = { downloaded: 0, uploaded: 0, webSeed: 0 };
  /** The upload counter at its last change while seeding, and when (the idle limit). */
  private lastUpload = { bytes: 0, at: 0 };
  private doneFired = false;
  private stopping: Promise<void> | undefined;

  /** `swarmHash`: the 20-byte hash the magnet's swarm is known by (v1, or v2 truncated). */
  constructor(source: { meta: Metainfo } | { magnet: MagnetLink; swarmHash: Uint8Array }, client: Client, opts: TorrentOptions) {
    if ('meta' in source) {
      this.meta = source.meta;
      this.infoHash = source.meta.infoHash;
    } else {
      this.magnet = source.magnet;
      this.infoHash = source.swarmHash;
    }
    this.client = client;
    this.opts = opts;
    this.clock = opts.clock;
    this.seedLimits = {
      ...(opts.seedRatio !== undefined ? { ratio: opts.seedRatio } : {}),
      ...(opts.seedTimeMs !== undefined ? { timeMs: opts.seedTimeMs } : {}),
      ...(opts.seedIdleMs !== undefined ? { idleMs: opts.seedIdleMs } : {}),
    };
    this.identity = { infoHash: this.infoHash, peerId: client.peerId, reserved: makeReserved({ extensionProtocol: true, fast: true, v2: (this.meta?.v2 ?? this.magnet?.infoHashV2) !== undefined }) };
    // The tracker lists us too: never dial our own listening port on this machine.
    for (const host of ['127.0.0.1', '::1']) this.pool.addSelf({ host, port: client.port });
  }

  get isPrivate(): boolean {
    return this.meta?.info.private === true;
  }

  /** Start (or resume after a pause): fetch the metadata or check the data, then exchange pieces. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.run = new AbortController();
    // Seeding limits count from each start: a torrent resumed after meeting one seeds again.
    this.seedingSince = undefined;
    this.pool.retryNow(this.clock.now());
    this.tickTimer = this.clock.setInterval(() => this.tick(), 1000);
    if (this.meta === undefined) {
      this.fetchMetadata();
      this.startAnnouncing();
    } else void this.check(this.meta, []);
    this.addPeers([...(this.magnet?.peers ?? []), ...(this.opts.peers ?? [])], 'manual');
  }

  /** Close every connection and the files; keep what is verified. */
  async pause(): Promise<void> {
    if (this.state === 'paused' || this.state === 'stopped' || this.state === 'error') return;
    this.setState('paused');
    await this.halt();
  }

  /** Stop for good. Waits for trackers (bounded) and for pending writes. */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    const wasPaused = this.state === 'paused' || this.state === 'error';
    this.setState('stopped');
    this.stopping = wasPaused ? Promise.resolve() : this.halt();
    return this.stopping;
  }

  addPeers(peers: Iterable<PeerAddress>, source: PeerSource): void {
    if (this.phase !== undefined) {
      this.phase.addPeers(peers, source);
      return;
    }
    if (this.swarm !== undefined) {
      this.found[source] += this.swarm.addPeers(peers, source);
      return;
    }
    for (const p of peers) if (this.pool.add(p, source)) this.found[source]++;
  }

  /** True while more peers would help: DHT lookups run more often then. */
  wantsPeers(): boolean {
    const connected = this.swarm?.connectedCount ?? this.phase?.connectedCount ?? 0;
    return connected < 10 && (this.state === 'downloading' || this.state === 'metadata');
  }

  /** Pieces to fetch before any other (streaming); kept across pauses. */
  setUrgent(pieces: readonly number[]): void {
    this.urgent = [...pieces];
    this.swarm?.setUrgent(this.urgent);
  }

  /** Fetch new pieces in index order instead of rarest first. */
  setSequential(on: boolean): void {
    this.sequential = on;
    this.swarm?.setSequential(on);
  }

  /** Levels per entry of `info.files` (undefined: all normal). */
  get filePriorityLevels(): readonly number[] | undefined {
    return this.selection?.levels;
  }

  /**
   * New levels, one per entry of `info.files` (needs the metadata). Kept across pauses;
   * applied at once while running: the storage first (a file wanted again gets its bytes
   * out of the part file), then the picker.
   */
  setFilePriorityLevels(levels: readonly number[]): Promise<void> {
    const info = this.meta!.info;
    this.selection = FileSelection.of(info, levels);
    const skip = skipFlags(info, this.selection);
    const pieceLevels = this.selection?.pieceLevels;
    const apply = async (): Promise<void> => {
      const storage = this.storage;
      const swarm = this.swarm;
      if (storage === undefined || swarm === undefined) return;
      await storage.setSkipped(skip, swarm.have);
      if (this.swarm === swarm) swarm.setPiecePriorities(pieceLevels);
    };
    this.applying = this.applying.then(apply, apply);
    return this.applying.catch((err: unknown) => {
      this.fail(err);
      throw err;
    });
  }

  /** Replaces the seeding limits; they apply from the next second. */
  setSeedLimits(limits: SeedLimits): void {
    this.seedLimits = { ...limits };
  }

  get currentSeedLimits(): SeedLimits {
    return this.seedLimits;
  }

  setRateLimits(limits: { readonly download?: number; readonly upload?: number }): void {
    if (limits.download !== undefined) this.opts.downLimit?.setRate(limits.download);
    if (limits.upload !== undefined) this.opts.upLimit?.setRate(limits.upload);
  }

  hasPiece(index: number): boolean {
    return this.verifiedPieces?.has(index) ?? false;
  }

  get verifiedPieces(): Bitfield | undefined {
    return this.swarm?.have ?? this.have;
  }

  stats(): TorrentStats {
    const info = this.meta?.info;
    const s = this.swarm;
    const now = this.clock.now();
    const have = this.verifiedPieces;
    const verified = have?.count ?? 0;
    const pieceCount = info?.pieceCount ?? 0;
    const selection = this.selection;
    let bytesVerified = info === undefined ? 0 : bytesOf(verified, have?.has(pieceCount - 1) ?? false, info.pieceLength, info.length, pieceCount);
    if (have !== undefined && selection !== undefined) bytesVerified = selection.verifiedBytes(have);
    return {
      state: this.state,
      verified,
      pieceCount,
      bytesVerified,
      totalBytes: selection?.wantedBytes ?? info?.length ?? 0,
      sizeBytes: info?.length ?? 0,
      downloaded: this.earlier.downloaded + (s?.downloaded ?? 0),
      uploaded: this.earlier.uploaded + (s?.uploaded ?? 0),
      downRate: s?.downRate.rate(now) ?? 0,
      upRate: s?.upRate.rate(now) ?? 0,
      peers: s?.connectedCount ?? this.phase?.connectedCount ?? 0,
      knownPeers: this.pool.size,
      hashFailures: s?.hashFailures ?? 0,
      banned: this.pool.bannedCount,
      webSeedBytes: this.earlier.webSeed + (s?.sourceBytes ?? 0),
      resumedBytes: this.resumedBytes,
      found: { ...this.found },
      ...(this.phase !== undefined ? { metadata: this.phase.progress() } : {}),
      ...(this.startCheck !== undefined ? { startCheck: { ...this.startCheck } } : {}),
    };
  }

  /** Fail for good: the state becomes `error` and `err` is reported once. */
  fail(err: unknown): void {
    if (this.state === 'error' || this.state === 'stopped') return;
    this.setState('error');
    this.opts.events.onError(err);
    // Already failed: a second error while closing adds nothing.
    this.halt().catch(() => undefined);
  }

  // ---- phases ----

  private fetchMetadata(): void {
    this.setState('metadata');
    const ev = this.opts.events;
    const phase = new MetadataPhase({
      magnet: this.magnet!,
      infoHash: this.infoHash,
      identity: this.identity,
      listenPort: this.client.port,
      pool: this.pool,
      clock: this.clock,
      encryption: this.client.encryption,
      transport: this.client,
      maxConnections: this.opts.maxConnections ?? 60,
      ...(this.opts.metadataRequestTimeoutMs !== undefined ? { requestTimeoutMs: this.opts.metadataRequestTimeoutMs } : {}),
      events: {
        onMetadata: ({ meta, torrentBytes }) => this.onMetadata(meta, torrentBytes),
        onFatal: (err) => this.fail(err),
        onProgress: () => {
          if (this.phase === phase) ev.onMetadataProgress(phase.progress());
        },
        onIncoming: () => this.found.incoming++,
        onPeerFound: (_a, source) => this.found[source]++,
        onPeerBanned: (peer, reason) => ev.onWarning({ code: 'peer-banned', message: reason, peer }),
        onPeerConnected: (a, outgoing) => ev.onPeerConnected(a, outgoing),
        onPeerDisconnected: (a, reason) => ev.onPeerDisconnected(a, reason),
      },
    });
    this.phase = phase;
    this.client.register(this.infoHash, { identity: this.identity, handler: phase, maxBitfield: MAX_BITFIELD_BYTES });
    phase.start();
  }

  private onMetadata(meta: Metainfo, torrentBytes: Uint8Array): void {
    if (this.state !== 'metadata' || this.phase === undefined) return;
    this.meta = meta;
    this.torrentBytes = torrentBytes;
    // BEP 53: the link's `so` selects files by their index among the data files (padding is not numbered).
    const select = this.magnet?.select;
    if (select !== undefined && this.selection === undefined) {
      let k = 0;
      this.selection = FileSelection.of(
        meta.info,
        meta.info.files.map((f) => (f.pad ? NORMAL : select.includes(k++) ? NORMAL : SKIP)),
      );
    }
    this.opts.events.onMetadata(meta, torrentBytes);
    // A listener may have stopped or paused the torrent (a metadata-only fetch).
    if (this.state !== 'metadata') return;
    // The phase keeps holding the connections (and taking incoming ones) while the data is checked.
    void this.check(meta, undefined);
  }

  /**
   * Open the files and find what is verified: the bitfield kept from before a pause, or a
   * check of the data on disk against the resume record. `held` is undefined while the
   * metadata phase still holds the connections.
   */
  private async check(meta: Metainfo, held: HeldConnection[] | undefined): Promise<void> {
    this.setState('checking');
    const run = this.run;
    const info = meta.info;
    let storage: TorrentStorage | undefined;
    let have: Bitfield;
    const selectionAtOpen = this.selection;
    try {
      // 8 MiB of piece buffers keeps a loopback pipe from one peer full: measured no slower than
      // 16, 32 or 64 MiB, and each halving saved about 8 MiB of peak RSS. (Pieces over 4 MiB still
      // get two buffers.) Many peers sending at once each fill a piece: the swarm raises the
      // bound with the number of sending peers, up to 32 MiB. Twenty uncapped peers on two
      // cores were no slower with 32 than with 64 (past that, pieces only wait for storage),
      // for about 25 MiB less peak RSS and a tenth less CPU.
      storage = await TorrentStorage.open(this.opts.outputDir, info, {
        poolBytes: 8 << 20,
        maxPoolBytes: 32 << 20,
        skip: skipFlags(info, this.selection),
        partFile: partFileName(meta.infoHashHex),
        ...(this.opts.storagePool !== undefined ? { pool: this.opts.storagePool() } : {}),
        ...this.resumeOptions(),
      });
      if (this.have !== undefined && this.opts.resumeDir === undefined) {
        have = this.have;
        // Files selected while paused take their bytes back from the part file.
        await storage.settleParts(have);
      } else {
        // A first start may be told to ignore the record; after a pause the record is our own.
        const existing = await storage.verifyExisting({
          recheck: this.opts.recheck === true && this.have === undefined,
          onProgress: (checked, total) => this.opts.events.onChecking(checked, total),
          signal: run.signal,
        });
        have = existing.have;
        this.startCheck = { trusted: existing.trusted, checked: existing.checked };
      }
    } catch (err) {
      // The failure (or the abort) is what matters; closing is best effort.
      await storage?.close().catch(() => undefined);
      if (run.signal.aborted) return;
      return this.fail(err);
    }
    if (run.signal.aborted || this.state !== 'checking') {
      await storage.close().catch((err: unknown) => this.fail(err));
      return;
    }
    this.storage = storage;
    this.have = have;
    this.resumedBytes = bytesOf(have.count, have.has(info.pieceCount - 1), info.pieceLength, info.length, info.pieceCount);
    this.startSwarm(meta, storage, have, held ?? this.phase?.handOver() ?? []);
    // Priorities changed while the files were being opened: the storage gets them now.
    if (this.selection !== selectionAtOpen) {
      this.setFilePriorityLevels(this.selection?.levels ?? info.files.map(() => NORMAL)).catch(() => undefined);
    }
  }

  private resumeOptions(): { resume?: NonNullable<Parameters<typeof TorrentStorage.open>[2]>['resume'] } {
    const { resumeDir: dir, resumeIntervalMs: intervalMs } = this.opts;
    const onError = (err: Error): void => this.opts.events.onWarning({ code: 'resume', message: `resume record not saved: ${err.message}` });
    return dir === undefined ? {} : { resume: { dir, infoHash: this.infoHash, clock: this.clock, ...(intervalMs !== undefined ? { intervalMs } : {}), onError } };
  }

  private startSwarm(meta: Metainfo, storage: TorrentStorage, have: Bitfield, held: HeldConnection[]): void {
    const ev = this.opts.events;
    const info = meta.info;
    this.phase = undefined;
    const swarm = new Swarm({
      infoHash: this.infoHash,
      ...(meta.v2 === undefined ? {} : { v2: meta.v2 }),
      peerId: this.client.peerId,
      pieceCount: info.pieceCount,
      pieceLength: info.pieceLength,
      totalLength: info.length,
      have,
      storage,
      infoBytes: meta.infoBytes,
      listenPort: this.client.port,
      pex: !info.private,
      pool: this.pool,
      clock: this.clock,
      encryption: this.client.encryption,
      transport: this.client,
      ...(this.opts.downLimit !== undefined ? { downLimit: this.opts.downLimit } : {}),
      ...(this.opts.upLimit !== undefined ? { upLimit: this.opts.upLimit } : {}),
      ...(this.opts.maxConnections !== undefined ? { maxConnections: this.opts.maxConnections } : {}),
      ...(this.opts.maxPeersPerIp !== undefined ? { maxPeersPerIp: this.opts.maxPeersPerIp } : {}),
      events: {
        onPieceVerified: (i) => ev.onVerified(i),
        onPieceFailed: (i) => ev.onPieceFailed(i),
        onComplete: () => this.onComplete(),
        onIncomplete: () => {
          // More files were selected after completion: `done` comes again once they are in.
          this.doneFired = false;
          if (this.state === 'seeding') this.setState('downloading');
        },
        onDiskError: (err) => this.fail(err),
        onPeerBanned: (peer, reason) => ev.onWarning({ code: 'peer-banned', message: reason, peer }),
        onPeerConnected: (a, outgoing) => ev.onPeerConnected(a, outgoing),
        onPeerDisconnected: (a, reason) => ev.onPeerDisconnected(a, reason),
        onYourIp: (address, from) => this.opts.externalAddress?.vote(address, from),
        ...(this.opts.trace === true ? { onTrace: (line: string) => ev.onTrace(line) } : {}),
      },
    });
    this.swarm = swarm;
    this.addWebSeeds(meta, swarm);
    swarm.setSequential(this.sequential);
    swarm.setUrgent(this.urgent);
    swarm.setPiecePriorities(this.selection?.pieceLevels);
    this.client.register(this.infoHash, { identity: swarm.localIdentity, handler: swarm, maxBitfield: swarm.maxBitfieldBytes });
    // A hybrid is one torrent in two swarms (BEP 52): peers of the v2 swarm greet us with the
    // truncated v2 hash and are answered with it, then fed from the same pieces.
    const v2Hash = this.v2SwarmHash();
    if (v2Hash !== undefined) this.client.register(v2Hash, { identity: { ...swarm.localIdentity, infoHash: v2Hash }, handler: swarm, maxBitfield: swarm.maxBitfieldBytes });
    for (const h of held) swarm.adopt(h.conn, h.replay);
    this.setState(swarm.finished ? 'seeding' : 'downloading');
    swarm.start();
    // After the check, so that `left` is true: a seeder is listed as one at once.
    if (this.announcers === undefined) this.startAnnouncing();
  }

  /** The web seed layer loads only for a torrent that has web seeds; the swarm runs meanwhile. */
  private addWebSeeds(meta: Metainfo, swarm: Swarm): void {
    const fromTorrent = this.opts.torrentWebSeeds === false ? [] : [...meta.urlList, ...(this.magnet?.webSeeds ?? [])];
    const urls = [...fromTorrent, ...(this.opts.webSeeds ?? [])];
    if (urls.length === 0 || meta.info.pieceCount === 0) return;
    void import('./web-seeds.js').then(({ addWebSeeds }) =>
      addWebSeeds(swarm, meta, urls, {
        clock: this.clock,
        ...(this.opts.webSeedCa !== undefined ? { ca: this.opts.webSeedCa } : {}),
        ...(this.opts.downLimit !== undefined ? { downLimit: this.opts.downLimit } : {}),
        warn: (message) => this.opts.events.onWarning({ code: 'web-seed', message }),
      }),
    );
  }

  private onComplete(): void {
    if (this.state === 'downloading') {
      this.setState('seeding');
      for (const a of this.announcers ?? []) a.complete();
    }
    if (this.state !== 'seeding') return;
    if (this.seedingSince === undefined) {
      this.seedingSince = this.clock.now();
      this.lastUpload = { bytes: this.stats().uploaded, at: this.seedingSince };
    }
    if (!this.doneFired) {
      this.doneFired = true;
      this.opts.events.onDone();
    }
  }

  /** Once a second while running: progress, the metadata deadline, seeding limits. */
  private tick(): void {
    const now = this.clock.now();
    const limit = this.opts.metadataTimeoutMs;
    if (this.phase !== undefined && this.state === 'metadata' && limit !== undefined && now - this.phase.lastProgressAt > limit) {
      const f = this.found;
      return this.fail(noMetadataError(this.magnet?.infoHashHex ?? this.magnet?.btmh ?? '', limit, f));
    }
    this.opts.events.onTick();
    if (this.state === 'seeding' && this.seedingSince !== undefined) {
      const st = this.stats();
      const { ratio, timeMs, idleMs } = this.seedLimits;
      if (st.uploaded !== this.lastUpload.bytes) this.lastUpload = { bytes: st.uploaded, at: now };
      const ratioMet = ratio !== undefined && st.uploaded >= ratio * st.totalBytes;
      const timeMet = timeMs !== undefined && now - this.seedingSince >= timeMs;
      const idleMet = idleMs !== undefined && now - this.lastUpload.at >= idleMs;
      if (ratioMet || timeMet || idleMet) {
        this.opts.events.onSeeded();
        this.pause().catch((err: unknown) => this.fail(err));
      }
    }
  }

  /** Shared by pause, stop and error: close connections and files, tell the trackers. */
  private async halt(): Promise<void> {
    this.run.abort();
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    this.client.unregister(this.infoHash);
    const v2Hash = this.v2SwarmHash();
    if (v2Hash !== undefined) this.client.unregister(v2Hash);
    this.phase?.close('stopping');
    this.phase = undefined;
    const swarm = this.swarm;
    if (swarm !== undefined) this.have = swarm.have;
    // Trackers are told with the counters of the run that ends; the swarm goes after.
    const announcers = this.announcers ?? [];
    this.announcers = undefined;
    swarm?.stop();
    await Promise.all(announcers.map((a) => a.stop()));
    if (swarm !== undefined) {
      const e = this.earlier;
      this.earlier = { downloaded: e.downloaded + swarm.downloaded, uploaded: e.uploaded + swarm.uploaded, webSeed: e.webSeed + swarm.sourceBytes };
    }
    this.swarm = undefined;
    const storage = this.storage;
    this.storage = undefined;
    await storage?.close();
  }

  private setState(s: TorrentState): void {
    if (this.state === s) return;
    this.state = s;
    this.opts.events.onState(s);
  }

  // ---- trackers ----

  private startAnnouncing(): void {
    const tiers = this.meta !== undefined ? this.meta.announce : (this.magnet?.trackers ?? []).map((t) => [t]);
    if (this.opts.trackers === false || tiers.length === 0 || this.state === 'paused' || this.state === 'stopped' || this.state === 'error') return;
    const v2Hash = this.v2SwarmHash();
    this.announcers = startAnnouncers(tiers, [this.infoHash, ...(v2Hash === undefined ? [] : [v2Hash])], {
      peerId: this.client.peerId,
      port: this.client.port,
      clock: this.clock,
      ...(this.opts.udpBaseTimeoutMs !== undefined ? { udpBaseTimeoutMs: this.opts.udpBaseTimeoutMs } : {}),
      ...(this.opts.udpTrackers !== undefined ? { udp: this.opts.udpTrackers } : {}),
      ...(this.opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: this.opts.stopTimeoutMs } : {}),
      stats: () => {
        // A tracker counts from this run's `started`: the current swarm's totals.
        const st = this.stats();
        const run = { uploaded: this.swarm?.uploaded ?? 0, downloaded: this.swarm?.downloaded ?? 0 };
        return { ...run, left: this.meta === undefined ? UNKNOWN_LEFT : st.totalBytes - st.bytesVerified };
      },
      wantPeers: () => this.wantsPeers() && (this.swarm?.connectedCount ?? this.phase?.connectedCount ?? 0) < 5,
      onPeers: (peers) => this.addPeers(peers, 'tracker'),
      warn: (message) => this.opts.events.onWarning({ code: 'tracker', message }),
      ...(this.opts.externalAddress !== undefined ? { externalAddresses: () => this.opts.externalAddress!.forTrackers() } : {}),
    });
  }

  /** The truncated v2 hash under which a hybrid also joins the v2 swarm. */
  private v2SwarmHash(): Uint8Array | undefined {
    return this.meta?.hybrid === true && this.meta.v2 !== undefined ? this.meta.v2.infoHash.subarray(0, 20) : undefined;
  }
}
