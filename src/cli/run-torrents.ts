/**
 * The display side of `download`, `seed` and `demo`: run one or more torrents in one
 * `Session` and say what happens, in the lines the CLI has always printed. Everything the
 * engine does (discovery, the metadata phase, checking, seeding limits) is the session's;
 * this file only prints, applies the no-peer timeout and picks the exit code.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Metainfo, PeerAddress } from '../metainfo/types.js';
import { SessionError } from '../session/errors.js';
import type { TorrentHandle, MetadataProgress, TorrentWarning } from '../session/handle.js';
import { Session, type DhtOptions, type SessionOptions } from '../session/session.js';
import type { ResolvedSource } from '../session/source.js';
import type { TorrentStats } from '../session/torrent-types.js';
import { StorageError } from '../storage/errors.js';
import { CliError, ExitCode, humanBytes, safeText, type CliContext } from './context.js';
import { selectionPriorities, type FileSelection } from './file-select.js';
import { JsonLines, watchJson } from './json-events.js';
import { ProgressDisplay } from './progress.js';

export interface RunOptions {
  outputDir: string;
  peers: PeerAddress[];
  quiet: boolean;
  /** Give up on a torrent when no peer has been connected for this long (also bounds a magnet's metadata fetch). */
  noPeerTimeoutS: number;
  /** Keep seeding after completion (until Ctrl-C or a limit). */
  seed: boolean;
  ratio?: number;
  seedTimeS?: number;
  port?: number;
  /** Listen address; default all interfaces (`demo` keeps everything on 127.0.0.1). */
  host?: string;
  /** `seed` command: the data must already be complete. */
  seedOnly?: boolean;
  /** The DHT, or false; default off (`download` passes its own). */
  dht?: DhtOptions | false;
  /** Announce on the LAN with BEP 14 local service discovery (never for private torrents). */
  lsd?: boolean;
  /** Say how to resume after an interruption (false where the folder is temporary, as in `demo`). */
  resumeHint?: boolean;
  /** Write the .torrent of a magnet link here once its metadata arrives. */
  saveTorrent?: string;
  /** Keep resume records here (`download`, `seed`); without it every start rechecks. */
  resumeDir?: string;
  /** Ignore the resume record: read and hash all data on disk. */
  recheck?: boolean;
  /** `--encryption` and its mismatch notes; port mapping (off with `--no-port-mapping`); `--no-utp`. */
  clientOptions?: Pick<SessionOptions, 'encryption' | 'onEncryptionMismatch' | 'portMapping' | 'utp'>;
  /** Session-wide limits in bytes per second (0: none). */
  maxDownRate?: number;
  maxUpRate?: number;
  /** `--json`: events as JSON lines on standard output instead of text. */
  json?: boolean;
  /** `--on-done`: a shell command run with the output path when a download completes. */
  onDone?: string;
  /** `--sequential`: fetch pieces in order. */
  sequential?: boolean;
  /** `--web-seed`: web seeds besides the torrents' own. */
  webSeeds?: readonly string[];
  /** False with `--no-web-seeds`: the torrents' own web seeds are ignored. */
  torrentWebSeeds?: boolean;
  /** Connections one IP may hold (`--max-peers-per-ip`). */
  maxPeersPerIp?: number;
  /** `--select`, `--only`, `--exclude`: the files to download (the rest is skipped). */
  selection?: FileSelection;
}

/** `fetchingMetadata`: interrupted before a magnet's metadata arrived (nothing to resume). */
type Outcome = { code: number; stoppedLine?: string; fetchingMetadata?: boolean };

/** Run every source in one session; the exit code is the first failure's, 130 if interrupted. */
export async function runTorrents(sources: readonly ResolvedSource[], ctx: CliContext, opts: RunOptions): Promise<number> {
  const allPrivate = sources.every((s) => s.kind === 'torrent' && s.meta.info.private);
  const session = new Session({
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    // BEP 27: a private torrent never touches the DHT; with nothing else to look up, no node at all.
    dht: allPrivate ? false : (opts.dht ?? false),
    lsd: opts.lsd === true,
    ...(opts.maxDownRate !== undefined ? { maxDownloadRate: opts.maxDownRate } : {}),
    ...(opts.maxUpRate !== undefined ? { maxUploadRate: opts.maxUpRate } : {}),
    ...(opts.resumeDir !== undefined ? { resumeDir: opts.resumeDir } : {}),
    ...(opts.maxPeersPerIp !== undefined ? { maxPeersPerIp: opts.maxPeersPerIp } : {}),
    ...opts.clientOptions,
  });
  const run = new Run(session, ctx, opts);
  try {
    await session.listen();
    const settled = await Promise.allSettled(sources.map((s) => run.follow(s)));
    run.stopDisplay();
    const outcomes = settled.filter((s): s is PromiseFulfilledResult<Outcome> => s.status === 'fulfilled').map((s) => s.value);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined && !ctx.signal.aborted) throw failure.reason;
    if (outcomes.some((o) => o.code === ExitCode.interrupted)) {
      const stopped = outcomes.filter((o) => o.code === ExitCode.interrupted);
      const message = stopped.every((o) => o.fetchingMetadata === true)
        ? 'interrupted while fetching metadata'
        : opts.resumeHint === false
          ? 'interrupted'
          : 'interrupted: verified pieces are kept; run the same command again to resume';
      ctx.stderr.write(`tessera: ${message}\n`);
      if (opts.json !== true) for (const o of outcomes) if (o.stoppedLine !== undefined) ctx.stdout.write(`${o.stoppedLine}\n`);
      return ExitCode.interrupted;
    }
    if (failure !== undefined) throw failure.reason;
    if (opts.json !== true) for (const o of outcomes) if (o.stoppedLine !== undefined) ctx.stdout.write(`${o.stoppedLine}\n`);
    return outcomes.find((o) => o.code !== ExitCode.ok)?.code ?? ExitCode.ok;
  } catch (err) {
    if (!ctx.signal.aborted) run.json?.emit({ event: 'error', exitCode: err instanceof CliError ? err.exitCode : ExitCode.failed, message: err instanceof Error ? err.message.split('\n')[0]! : String(err) });
    throw err;
  } finally {
    run.stopDisplay();
    await session.close();
  }
}

class Run {
  readonly json: JsonLines | undefined;
  private display: ProgressDisplay | undefined;
  private readonly handles: TorrentHandle[] = [];
  private readonly started = Date.now();
  /** Ends every torrent's wait: Ctrl-C, or (for `seed`) one torrent whose data is incomplete. */
  private readonly stopAll = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly session: Session,
    private readonly ctx: CliContext,
    private readonly opts: RunOptions,
  ) {
    this.json = opts.json === true ? new JsonLines(ctx.stdout) : undefined;
    this.signal = AbortSignal.any([ctx.signal, this.stopAll.signal]);
  }

  private say(line: string): void {
    if (this.display !== undefined) this.display.note(line);
    else this.ctx.stderr.write(`${line}\n`);
  }

  stopDisplay(): void {
    this.display?.stop();
    this.display = undefined;
  }

  private startDisplay(): void {
    if (this.opts.quiet || this.display !== undefined) return;
    const seeding = this.opts.seedOnly === true || this.handles.every((h) => h.state === 'seeding');
    const only = this.handles.length === 1 ? this.handles[0]!.name : undefined;
    this.display = new ProgressDisplay(this.ctx.stderr, () => combined(this.handles.map((h) => h.stats())), {
      ...(only !== undefined ? { name: only } : {}),
      mode: seeding ? 'seed' : 'download',
    });
    this.display.start();
  }

  async follow(source: ResolvedSource): Promise<Outcome> {
    const { ctx, opts, signal } = this;
    if (signal.aborted) return { code: ExitCode.interrupted, fetchingMetadata: source.kind === 'magnet' };
    if (source.kind === 'torrent') this.intro(source.meta);
    const handle = await this.session.add(source.kind === 'torrent' ? source.meta : source.magnet, {
      path: opts.outputDir,
      paused: true,
      peers: opts.peers,
      ...(source.kind === 'magnet' ? { metadataTimeoutMs: opts.noPeerTimeoutS * 1000 } : {}),
      ...(opts.ratio !== undefined ? { seedRatio: opts.ratio } : {}),
      ...(opts.seedTimeS !== undefined ? { seedTimeMs: opts.seedTimeS * 1000 } : {}),
      ...(opts.recheck === true ? { recheck: true } : {}),
      ...(ctx.verbose ? { trace: true } : {}),
      ...(opts.webSeeds !== undefined && opts.webSeeds.length > 0 ? { webSeeds: opts.webSeeds } : {}),
      ...(opts.torrentWebSeeds === false ? { torrentWebSeeds: false } : {}),
    });
    this.handles.push(handle);
    if (this.json !== undefined) watchJson(handle, this.json, source.kind, opts.outputDir, { seedAfterDone: opts.seed || opts.seedOnly === true });
    if (opts.sequential === true) handle.setSequential(true);
    handle.on('trace', (line) => {
      if (handle.state === 'downloading') this.say(`${line} | ${memoryLine()}`);
    });
    handle.on('warning', (w) => {
      const line = warningLine(w, ctx.verbose);
      if (line !== undefined) this.say(line);
    });
    if (source.kind === 'magnet') this.watchMetadata(handle, source);
    // Chosen before any file is opened: with the metadata at hand, or as it arrives (magnet).
    let selectionError: unknown;
    const select = (): void => {
      try {
        this.applySelection(handle);
      } catch (err) {
        selectionError = err;
        handle.remove().catch(() => undefined);
      }
    };
    if (opts.selection !== undefined) {
      if (handle.metainfo !== undefined) select();
      else handle.once('metadata', select);
    }
    handle.resume();

    const ready = await until(handle.whenReady(), signal);
    if (selectionError !== undefined) throw selectionError;
    if (ready === 'interrupted') {
      return handle.metainfo === undefined ? { code: ExitCode.interrupted, fetchingMetadata: true } : { code: ExitCode.interrupted, stoppedLine: stoppedLine(handle.stats()) };
    }
    if (ready instanceof Error) throw cliFailure(ready, true, this.session.encryptionMismatch());
    const st0 = handle.stats();
    if (st0.resumedBytes > 0 && !opts.quiet) {
      const trusted = st0.startCheck?.trusted ?? 0;
      const checked = st0.startCheck?.checked ?? 0;
      const how = trusted > 0 ? ` (${trusted} pieces from the resume record, ${checked} read)` : ` (${checked} pieces read)`;
      this.say(`resuming: ${humanBytes(st0.resumedBytes)} already verified${how}`);
    }
    if (opts.seedOnly === true && st0.state !== 'seeding') {
      this.stopAll.abort();
      throw new CliError(ExitCode.badInput, `the data in ${opts.outputDir} is incomplete (${st0.verified}/${st0.pieceCount} pieces verified)`);
    }
    this.startDisplay();

    const done = await until(withNoPeerTimeout(handle, opts.noPeerTimeoutS), signal);
    if (done === 'interrupted') return { code: ExitCode.interrupted, stoppedLine: stoppedLine(handle.stats()) };
    if (done === 'no-peers' || done === 'no-progress') {
      const mismatch = done === 'no-peers' ? this.session.encryptionMismatch() : undefined;
      const what = done === 'no-peers' ? 'no peer reachable' : 'no data from any peer';
      this.say(`tessera: ${what} for ${opts.noPeerTimeoutS} s${mismatch === undefined ? '' : `; ${mismatch}`}, giving up (verified pieces are kept)`);
      return { code: ExitCode.failed, stoppedLine: stoppedLine(handle.stats()) };
    }
    if (done instanceof Error) throw cliFailure(done, false);
    const elapsed = (Date.now() - this.started) / 1000;
    const st = handle.stats();
    const name = safeText(handle.name ?? '');
    if (this.handles.length === 1) this.stopDisplay();
    const output = path.join(opts.outputDir, handle.name ?? '');
    if (opts.seedOnly === true) {
      // A seeder downloaded nothing: it says what it serves, never "downloaded".
      if (this.json === undefined) ctx.stdout.write(`seeding: ${name} ${humanBytes(st.totalBytes)} verified, listening on port ${this.session.port} (Ctrl-C to stop)\n`);
    } else if (this.json !== undefined) {
      this.json.emit({ event: 'done', infoHash: handle.infoHash, name: handle.name ?? '', output, totalBytes: st.totalBytes, seconds: Math.round(elapsed * 10) / 10 });
    } else {
      ctx.stdout.write(
        `complete: ${name} ${humanBytes(st.totalBytes)} verified in ${elapsed.toFixed(1)} s ` +
          `(${humanBytes(st.downloaded / Math.max(elapsed, 0.001))}/s), ${st.downloaded} bytes downloaded, ` +
          `${st.uploaded} bytes uploaded, ${st.hashFailures} hash failures, ${st.banned} peers banned` +
          `${st.webSeedBytes > 0 ? `, ${st.webSeedBytes} bytes from web seeds` : ''}\n`,
      );
    }
    if (opts.onDone !== undefined && opts.seedOnly !== true) {
      // Loaded only for --on-done: it brings in child processes.
      const { runOnDone } = await import('./on-done.js');
      const code = await runOnDone(opts.onDone, { path: output, name: handle.name ?? '', infoHash: handle.infoHash }).catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (code !== 0) this.say(`tessera: --on-done command ended with ${String(code)}`);
    }
    if (opts.seed) {
      if (!opts.quiet && opts.seedOnly !== true) this.say('seeding (Ctrl-C to stop)');
      this.startDisplay();
      const r = await until(new Promise<void>((resolve) => (handle.state === 'paused' ? resolve() : handle.once('seeded', resolve))), signal);
      // Ctrl-C is an interruption (130) for every command; SIGTERM asks a service to stop.
      if (r === 'interrupted' && ctx.signal.reason !== 'SIGTERM') return { code: ExitCode.interrupted };
    }
    return { code: ExitCode.ok };
  }

  /** Sets the file priorities of `--select`/`--only`/`--exclude` (the metadata is known); throws a usage error. */
  private applySelection(handle: TorrentHandle): void {
    const info = handle.metainfo!.info;
    const files = handle.files();
    const priorities = selectionPriorities(this.opts.selection!, files, info.name, info.multiFile);
    // Synchronous up to the storage step, which waits for the files to be opened.
    handle.setFilePriorities(priorities).catch(() => undefined);
    const chosen = files.filter((_, i) => priorities[i] !== 'skip');
    if (!this.opts.quiet) this.say(`selected ${chosen.length} of ${files.length} file(s), ${humanBytes(chosen.reduce((n, f) => n + f.length, 0))}`);
  }

  /** `NAME: SIZE in N file(s), listening on port P` and `checking existing data…`. */
  private intro(meta: Metainfo): void {
    if (this.opts.quiet) return;
    this.say(`${safeText(meta.info.name)}: ${humanBytes(meta.info.length)} in ${meta.info.files.length} file(s), listening on port ${this.session.port}`);
    this.say('checking existing data…');
  }

  /** The "fetching metadata" lines: peers found per source, pieces received, then the torrent. */
  private watchMetadata(handle: TorrentHandle, source: ResolvedSource & { kind: 'magnet' }): void {
    const opts = this.opts;
    const magnet = source.magnet;
    const label = magnet.name !== undefined ? ` (${safeText(magnet.name)})` : '';
    if (!opts.quiet) this.say(`fetching metadata for ${magnet.infoHashHex ?? magnet.btmh ?? '?'}${label}…`);
    let last = '';
    if (!opts.quiet) {
      handle.on('metadata-progress', (p) => {
        const line = `metadata: ${metadataLine(p, handle.stats())}`;
        if (line === last) return;
        last = line;
        this.say(line);
      });
    }
    handle.once('metadata', (meta) => {
      if (!opts.quiet) this.say(receivedLine(meta, handle.stats()));
      const bytes = handle.torrentFile;
      if (opts.saveTorrent !== undefined && bytes !== undefined) {
        void saveTorrentFile(opts.saveTorrent, bytes).catch((err: unknown) => this.say(`tessera: ${err instanceof Error ? err.message : String(err)}`));
      }
      this.intro(meta);
    });
  }
}

/** Follow a magnet's metadata phase only (`info --fetch`): the lines `download` prints, then the torrent. */
export async function fetchMetadataOnly(
  magnetSource: ResolvedSource & { kind: 'magnet' },
  ctx: CliContext,
  opts: { peers: readonly PeerAddress[]; dht: DhtOptions | false; port: number; idleTimeoutS: number },
): Promise<{ meta: Metainfo; torrentBytes: Uint8Array } | undefined> {
  const session = new Session({ port: opts.port, dht: opts.dht });
  try {
    const magnet = magnetSource.magnet;
    const label = magnet.name !== undefined ? ` (${safeText(magnet.name)})` : '';
    ctx.stderr.write(`fetching metadata for ${magnet.infoHashHex ?? magnet.btmh ?? '?'}${label}…\n`);
    const handle = await session.add(magnet, { paused: true, peers: opts.peers, metadataTimeoutMs: opts.idleTimeoutS * 1000 });
    let last = '';
    handle.on('metadata-progress', (p) => {
      const line = `metadata: ${metadataLine(p, handle.stats())}`;
      if (line !== last) ctx.stderr.write(`${line}\n`);
      last = line;
    });
    handle.on('warning', (w) => {
      const line = warningLine(w, ctx.verbose);
      if (line !== undefined) ctx.stderr.write(`${line}\n`);
    });
    const got = new Promise<{ meta: Metainfo; torrentBytes: Uint8Array }>((resolve, reject) => {
      handle.once('metadata', (meta) => {
        ctx.stderr.write(`${receivedLine(meta, handle.stats())}\n`);
        const torrentBytes = handle.torrentFile!;
        // Metadata only: stop before any file is opened.
        void handle.remove();
        resolve({ meta, torrentBytes });
      });
      handle.once('error', reject);
    });
    handle.resume();
    const r = await until(got, ctx.signal);
    if (r === 'interrupted') {
      ctx.stderr.write('tessera: interrupted while fetching metadata\n');
      return undefined;
    }
    if (r instanceof Error) throw cliFailure(r, true, session.encryptionMismatch());
    return r;
  } finally {
    await session.close();
  }
}

export async function saveTorrentFile(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFile(path, bytes);
  } catch (err) {
    throw new CliError(ExitCode.disk, `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

function metadataLine(p: MetadataProgress, st: TorrentStats): string {
  const f = st.found;
  const pieces = p.pieceCount === undefined ? 'size unknown' : `${p.piecesDone}/${p.pieceCount} pieces`;
  return `${pieces}, ${p.connected} connected (${p.serving} serving); found ${f.tracker} tracker, ${f.dht} dht, ${f.pex} pex, ${f.manual} manual, ${f.incoming} incoming`;
}

function receivedLine(meta: Metainfo, st: TorrentStats): string {
  const f = st.found;
  return (
    `metadata received: ${safeText(meta.info.name)}, ${humanBytes(meta.info.length)} ` +
    `(peers found: ${f.tracker} tracker, ${f.dht} dht, ${f.pex} pex, ${f.manual} manual, ${f.incoming} incoming)`
  );
}

/** A banned peer and a resume record not saved always; tracker and web seed trouble with --verbose. */
function warningLine(w: TorrentWarning, verbose: boolean): string | undefined {
  if (w.code === 'peer-banned' && w.peer !== undefined) return `banned ${w.peer.host}:${w.peer.port}: ${w.message}`;
  if (w.code === 'resume') return safeText(w.message);
  if (w.code === 'web-seed') return verbose ? `web seed: ${safeText(w.message)}` : undefined;
  return verbose ? `tracker: ${safeText(w.message)}` : undefined;
}

/** Resident memory, and how much of it is array buffers (piece buffers, socket reads), for the trace. */
function memoryLine(): string {
  const m = process.memoryUsage();
  return `rss ${m.rss >> 20} MiB (array buffers ${m.arrayBuffers >> 20} MiB, heap ${m.heapUsed >> 20} MiB)`;
}

function stoppedLine(st: TorrentStats): string {
  return `stopped: ${st.verified}/${st.pieceCount} pieces verified, ${st.downloaded} bytes downloaded, ${st.hashFailures} hash failures, ${st.banned} peers banned`;
}

/**
 * A torrent's failure as the CLI reports it: a missing metadata is a failed run (1); a disk
 * error while checking keeps its own message (main.ts maps it to 4); during the download it
 * is "disk error: …" (4); anything else (a bad torrent) goes to main.ts as it is.
 */
function cliFailure(err: Error, beforeSwarm: boolean, mismatch?: string): Error {
  if (err instanceof SessionError && err.code === 'no-metadata') {
    // No usable peer: say how many wanted an encryption policy other than ours.
    return new CliError(ExitCode.failed, mismatch === undefined ? err.message : `${err.message}; ${mismatch}`, { cause: err });
  }
  if (err instanceof StorageError && !beforeSwarm) return new CliError(ExitCode.disk, `disk error: ${err.message}`, { cause: err });
  return err;
}

/** The promise's value, its rejection as a value, or 'interrupted' when the signal fires first. */
export function until<T>(p: Promise<T>, signal: AbortSignal): Promise<T | Error | 'interrupted'> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve('interrupted');
    const onAbort = (): void => resolve('interrupted');
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        resolve(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Completion, or 'no-peers' once no peer has been connected for `seconds`, or 'no-progress'
 * once peers stay connected but none has sent data (or only pieces we have) for that long.
 */
function withNoPeerTimeout(handle: TorrentHandle, seconds: number): Promise<'complete' | 'no-peers' | 'no-progress'> {
  return new Promise((resolve, reject) => {
    let lastPeerAt = Date.now();
    let lastProgressAt = Date.now();
    let received = -1;
    const timer = setInterval(() => {
      const now = Date.now();
      const st = handle.stats();
      const moved = st.downloaded !== received;
      if (moved || st.state !== 'downloading') {
        received = st.downloaded;
        lastProgressAt = now;
      }
      // Data from web seeds counts as a source being there.
      if (st.peers > 0 || moved) lastPeerAt = now;
      else if (now - lastPeerAt > seconds * 1000) return finish('no-peers');
      if (now - lastProgressAt > seconds * 1000) finish('no-progress');
    }, 500);
    timer.unref();
    const finish = (o: 'complete' | 'no-peers' | 'no-progress'): void => {
      clearInterval(timer);
      resolve(o);
    };
    handle.whenDone().then(
      () => finish('complete'),
      (err: unknown) => {
        clearInterval(timer);
        reject(err);
      },
    );
  });
}

/** Several torrents on one progress line: their sums. */
function combined(all: readonly TorrentStats[]): TorrentStats {
  if (all.length === 1) return all[0]!;
  const sum = (f: (s: TorrentStats) => number): number => all.reduce((n, s) => n + f(s), 0);
  return {
    state: all.every((s) => s.state === 'seeding') ? 'seeding' : 'downloading',
    verified: sum((s) => s.verified),
    pieceCount: sum((s) => s.pieceCount),
    bytesVerified: sum((s) => s.bytesVerified),
    totalBytes: sum((s) => s.totalBytes),
    sizeBytes: sum((s) => s.sizeBytes),
    downloaded: sum((s) => s.downloaded),
    uploaded: sum((s) => s.uploaded),
    downRate: sum((s) => s.downRate),
    upRate: sum((s) => s.upRate),
    peers: sum((s) => s.peers),
    knownPeers: sum((s) => s.knownPeers),
    hashFailures: sum((s) => s.hashFailures),
    banned: sum((s) => s.banned),
    webSeedBytes: sum((s) => s.webSeedBytes),
    resumedBytes: sum((s) => s.resumedBytes),
    found: { tracker: 0, dht: 0, pex: 0, lsd: 0, manual: 0, incoming: 0 },
  };
}

