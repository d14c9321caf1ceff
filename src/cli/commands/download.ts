/**
 * `tessera download <file.torrent|magnet:> [-o dir]`: download, verify every piece, and exit 0
 * only when the whole content is on disk. Ctrl-C stops cleanly (trackers told, writes
 * flushed), and the next run resumes from the verified pieces.
 *
 * A magnet link first goes through a "fetching metadata" phase (BEP 9) that finds peers from
 * the link's trackers and `x.pe` peers, `--peer`, the DHT and PEX; then it continues exactly
 * as a .torrent file would. Unless `--no-dht` is given or the torrent is private (BEP 27), a
 * DHT node (BEP 5) runs for the whole session, bootstrapped from `--dht-bootstrap host:port`
 * (repeatable) or the public routers, with its routing table cached in
 * `$XDG_CACHE_HOME/tessera/dht.json` (only for the public DHT: a custom bootstrap is a
 * separate network whose nodes must not mix with the cached ones).
 *
 * Verified pieces are remembered in a resume record under `$XDG_STATE_HOME/tessera/resume/`,
 * so a restart reads only the files that changed since; `--recheck` reads everything.
 */
import { writeFile } from 'node:fs/promises';
import { DEFAULT_BOOTSTRAP, type BootstrapAddress } from '../../dht/index.js';
import { isMagnet, loadTorrentFile, parseMagnet, type Metainfo, type PeerAddress } from '../../metainfo/index.js';
import type { MagnetLink } from '../../metainfo/types.js';
import { Client, type ClientOptions } from '../../session/client.js';
import { defaultResumeDir } from '../../storage/index.js';
import { LocalDiscovery } from '../../session/lsd.js';
import { toHex } from '../../util/bytes.js';
import { defaultDhtStateFile, DhtDiscovery } from '../../session/discovery.js';
import { fetchMetadata, MetadataFetchError, type FetchedMetadata, type MetadataProgress } from '../../session/metadata-fetch.js';
import { Torrent } from '../../session/torrent.js';
import type { PeerSource } from '../../swarm/peer-pool.js';
import { CliError, ExitCode, humanBytes, safeText, type CliContext } from '../context.js';
import { formatDuration, ProgressDisplay } from '../progress.js';
import { encryptionNoteLine, parseDuration, parseEncryption, parsePeerArg, parsePort } from '../args.js';
import { parseCommandLine } from '../options.js';
import { downloadSpec } from '../specs.js';

export async function downloadCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, downloadSpec);
  const dhtBootstrap = dhtBootstrapOf(values['no-dht'], values['dht-bootstrap']);
  const peers: PeerAddress[] = values.peer.map(parsePeerArg);
  const timeoutS = parseDuration(values.timeout, '--timeout');
  const ratio = values.ratio !== undefined ? Number(values.ratio) : undefined;
  if (ratio !== undefined && !(ratio >= 0)) throw new CliError(ExitCode.usage, `--ratio wants a number ≥ 0, got '${values.ratio}'`);
  const seedTime = values['seed-time'] !== undefined ? parseDuration(values['seed-time'], '--seed-time') : undefined;
  const port = values.port !== undefined ? parsePort(values.port, '--port') : undefined;
  const source = positionals[0]!;
  const magnet = isMagnet(source) ? parseMagnet(source) : undefined;
  const loaded = magnet === undefined ? await loadTorrentFile(source) : undefined;

  const quiet = values.quiet;
  const saveTorrent = values['save-torrent'];
  const client = new Client({ ...(port !== undefined ? { port } : {}), ...encryptionOptions(values.encryption, ctx) });
  let dht: DhtDiscovery | undefined;
  try {
    await client.listen();
    // BEP 27: a private torrent never touches the DHT. A magnet's privacy is unknown until its
    // metadata arrives, so the node starts and is closed below if the torrent turns out private.
    if (dhtBootstrap !== undefined && loaded?.info.private !== true) dht = await startDht(dhtBootstrap, client.port);
    let meta: Metainfo;
    let found: FetchedMetadata['peers'] = [];
    if (magnet === undefined) {
      meta = loaded!;
    } else {
      const fetched = await fetchMagnetMetadata(magnet, client, ctx, { peers, dht, quiet, idleTimeoutS: timeoutS });
      if (fetched === undefined) return ExitCode.interrupted;
      meta = fetched.meta;
      found = fetched.peers;
      if (saveTorrent !== undefined) await saveTorrentFile(saveTorrent, fetched.torrentBytes);
    }
    if (meta.info.private && dht !== undefined) {
      await dht.close();
      dht = undefined;
    }
    return await runTorrent(meta, ctx, {
      outputDir: values.output,
      peers,
      discovered: found,
      quiet,
      noPeerTimeoutS: timeoutS,
      seed: values.seed || ratio !== undefined || seedTime !== undefined,
      ...(ratio !== undefined ? { ratio } : {}),
      ...(seedTime !== undefined ? { seedTimeS: seedTime } : {}),
      client,
      ...(dht !== undefined ? { dht } : {}),
      lsd: values.lsd,
      resumeDir: defaultResumeDir(process.env),
      recheck: values.recheck,
    });
  } finally {
    await dht?.close();
    await client.close();
  }
}

/** The Client options of `--encryption` and, with `--verbose`, a line per policy mismatch. */
export function encryptionOptions(value: string | undefined, ctx: CliContext): Pick<ClientOptions, 'encryption' | 'onEncryptionMismatch'> {
  const encryption = parseEncryption(value);
  return ctx.verbose ? { encryption, onEncryptionMismatch: (note) => ctx.stderr.write(`${encryptionNoteLine(note)}\n`) } : { encryption };
}

/** `--dht-bootstrap` addresses, the public routers by default, or undefined with `--no-dht`. */
export function dhtBootstrapOf(noDht: boolean, args: readonly string[] | undefined): BootstrapAddress[] | undefined {
  if (noDht) return undefined;
  if (args === undefined || args.length === 0) return [...DEFAULT_BOOTSTRAP];
  return args.map((a) => {
    try {
      return parsePeerArg(a);
    } catch {
      throw new CliError(ExitCode.usage, `--dht-bootstrap wants host:port, got '${a}'`);
    }
  });
}

/** A DHT node on our TCP port number when free; the routing table is cached only for the public DHT. */
export function startDht(bootstrap: readonly BootstrapAddress[], port: number): Promise<DhtDiscovery> {
  const isDefault = bootstrap.length === DEFAULT_BOOTSTRAP.length && bootstrap.every((b, i) => b.host === DEFAULT_BOOTSTRAP[i]!.host && b.port === DEFAULT_BOOTSTRAP[i]!.port);
  return DhtDiscovery.start({ bootstrap, port, ...(isDefault ? { stateFile: defaultDhtStateFile() } : {}) });
}

export async function saveTorrentFile(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFile(path, bytes);
  } catch (err) {
    throw new CliError(ExitCode.disk, `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/**
 * The "fetching metadata" phase shared by `download` and `info --fetch`: progress on stderr
 * (peers found per source, pieces received). Undefined when interrupted.
 */
export async function fetchMagnetMetadata(
  magnet: MagnetLink,
  client: Client,
  ctx: CliContext,
  opts: { peers: readonly PeerAddress[]; dht: DhtDiscovery | undefined; quiet: boolean; idleTimeoutS: number },
): Promise<FetchedMetadata | undefined> {
  const label = magnet.name !== undefined ? ` (${safeText(magnet.name)})` : '';
  if (!opts.quiet) ctx.stderr.write(`fetching metadata for ${magnet.infoHashHex ?? '?'}${label}…\n`);
  let last = '';
  const onProgress = (p: MetadataProgress): void => {
    const line = `metadata: ${metadataLine(p)}`;
    if (line === last) return;
    last = line;
    ctx.stderr.write(`${line}\n`);
  };
  try {
    const fetched = await fetchMetadata(magnet, client, {
      peers: opts.peers,
      ...(opts.dht !== undefined ? { dht: opts.dht } : {}),
      signal: ctx.signal,
      idleTimeoutMs: opts.idleTimeoutS * 1000,
      events: {
        ...(opts.quiet ? {} : { onProgress }),
        onPeerBanned: (a, reason) => ctx.stderr.write(`banned ${a.host}:${a.port}: ${reason}\n`),
        onTrackerError: (m) => {
          if (ctx.verbose) ctx.stderr.write(`tracker: ${safeText(m)}\n`);
        },
      },
    });
    if (!opts.quiet) {
      const f = fetched.found;
      ctx.stderr.write(
        `metadata received: ${safeText(fetched.meta.info.name)}, ${humanBytes(fetched.meta.info.length)} ` +
          `(peers found: ${f.tracker} tracker, ${f.dht} dht, ${f.pex} pex, ${f.manual} manual, ${f.incoming} incoming)\n`,
      );
    }
    return fetched;
  } catch (err) {
    if (err instanceof MetadataFetchError && err.code === 'aborted') {
      ctx.stderr.write('tessera: interrupted while fetching metadata\n');
      return undefined;
    }
    if (err instanceof MetadataFetchError) {
      const mismatch = client.encryption.report?.describe();
      throw new CliError(ExitCode.failed, mismatch === undefined ? err.message : `${err.message}; ${mismatch}`, { cause: err });
    }
    throw err;
  }
}

function metadataLine(p: MetadataProgress): string {
  const f = p.found;
  const pieces = p.pieceCount === undefined ? 'size unknown' : `${p.piecesDone}/${p.pieceCount} pieces`;
  return `${pieces}, ${p.connected} connected (${p.serving} serving); found ${f.tracker} tracker, ${f.dht} dht, ${f.pex} pex, ${f.manual} manual, ${f.incoming} incoming`;
}

export interface RunOptions {
  outputDir: string;
  peers: PeerAddress[];
  /** Peers found before the torrent started (the metadata phase), dialled with their source. */
  discovered?: readonly { readonly address: PeerAddress; readonly source: PeerSource }[];
  /** A listening client to use; runTorrent makes (and closes) its own otherwise. */
  client?: Client;
  /** A running DHT: looked up for peers (never for a private torrent, BEP 27); the caller closes it. */
  dht?: DhtDiscovery;
  quiet: boolean;
  noPeerTimeoutS: number;
  /** Keep seeding after completion (until Ctrl-C or a limit). */
  seed: boolean;
  ratio?: number;
  seedTimeS?: number;
  port?: number;
  /** Listen address; default all interfaces (`demo` keeps everything on 127.0.0.1). */
  host?: string;
  /** Options of the client runTorrent makes (`--encryption`), when it makes one. */
  clientOptions?: ClientOptions;
  /** `seed` command: the data must already be complete. */
  seedOnly?: boolean;
  /** Announce on the LAN with BEP 14 local service discovery (never for private torrents). */
  lsd?: boolean;
  /** Say how to resume after an interruption (false where the folder is temporary, as in `demo`). */
  resumeHint?: boolean;
  /** Keep resume records here (`download`, `seed`); without it every start rechecks. */
  resumeDir?: string;
  /** Ignore the resume record: read and hash all data on disk. */
  recheck?: boolean;
}

/** Shared by `download`, `seed` and `demo`: run one torrent to completion (and seed if asked). */
export async function runTorrent(meta: Metainfo, ctx: CliContext, opts: RunOptions): Promise<number> {
  const ownClient = opts.client === undefined;
  const client =
    opts.client ??
    new Client({ ...opts.clientOptions, ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host !== undefined ? { host: opts.host } : {}) });
  let stopDht: (() => void) | undefined;
  let lsd: LocalDiscovery | undefined;
  const started = Date.now();
  let display: ProgressDisplay | undefined;
  const say = (line: string): void => {
    if (display !== undefined) display.note(line);
    else ctx.stderr.write(`${line}\n`);
  };
  const torrent = new Torrent(meta, client, {
    outputDir: opts.outputDir,
    peers: opts.peers,
    ...(opts.resumeDir !== undefined ? { resumeDir: opts.resumeDir } : {}),
    recheck: opts.recheck === true,
    events: {
      onResumeError: (m) => say(`resume record not saved: ${safeText(m)}`),
      onTrackerError: (m) => {
        if (ctx.verbose) say(`tracker: ${safeText(m)}`);
      },
      onPeerBanned: (a, reason) => say(`banned ${a.host}:${a.port}: ${reason}`),
      ...(ctx.verbose ? { onTrace: (line: string) => torrent.state === 'downloading' && say(`${line} | ${memoryLine()}`) } : {}),
    },
  });
  try {
    if (ownClient) await client.listen();
    if (!opts.quiet) ctx.stderr.write(`${safeText(meta.info.name)}: ${humanBytes(meta.info.length)} in ${meta.info.files.length} file(s), listening on port ${client.port}\n`);
    if (!opts.quiet) ctx.stderr.write('checking existing data…\n');
    try {
      await torrent.start(ctx.signal);
    } catch (err) {
      // Ctrl-C during the check of existing data aborts it: an interruption, not a disk error.
      if (ctx.signal.aborted) return interrupted();
      throw err;
    }
    if (ctx.signal.aborted) return interrupted();
    const st0 = torrent.stats();
    if (st0.resumedBytes > 0 && !opts.quiet) {
      const { trusted, checked } = torrent.startCheck;
      const how = trusted > 0 ? ` (${trusted} pieces from the resume record, ${checked} read)` : ` (${checked} pieces read)`;
      ctx.stderr.write(`resuming: ${humanBytes(st0.resumedBytes)} already verified${how}\n`);
    }
    if (opts.seedOnly === true && st0.state !== 'seeding') {
      throw new CliError(ExitCode.badInput, `the data in ${opts.outputDir} is incomplete (${st0.verified}/${st0.pieceCount} pieces verified)`);
    }
    for (const source of ['tracker', 'dht', 'pex', 'manual'] as const) {
      const list = (opts.discovered ?? []).filter((d) => d.source === source).map((d) => d.address);
      if (list.length > 0) torrent.addPeers(list, source);
    }
    if (opts.dht !== undefined && !meta.info.private) {
      stopDht = opts.dht.track(meta.infoHash, {
        announcePort: client.port,
        onPeers: (found) => torrent.addPeers(found, 'dht'),
        wantMore: () => torrent.stats().peers < 10 && torrent.state === 'downloading',
      });
    }
    // BEP 27: never for a private torrent. Best effort: a machine without a multicast route
    // simply finds no local peers.
    if (opts.lsd === true && !meta.info.private) {
      const ours = toHex(meta.infoHash);
      lsd = await LocalDiscovery.start({ port: client.port, onPeer: (hex, peer) => hex === ours && torrent.addPeers([peer], 'lsd') }).catch(() => undefined);
      lsd?.announce([meta.infoHash]);
    }
    if (!opts.quiet) {
      display = new ProgressDisplay(ctx.stderr, () => torrent.stats());
      display.start();
    }
    const outcome = await waitFor(torrent, ctx.signal, opts.noPeerTimeoutS);
    if (outcome === 'interrupted') return interrupted();
    if (outcome === 'no-peers') {
      const mismatch = client.encryption.report?.describe();
      const why = mismatch === undefined ? '' : `; ${mismatch}`;
      return finish(ExitCode.failed, `no peer reachable for ${opts.noPeerTimeoutS} s${why}, giving up (verified pieces are kept)`);
    }
    if (outcome === 'no-progress') return finish(ExitCode.failed, `no data from any peer for ${opts.noPeerTimeoutS} s, giving up (verified pieces are kept)`);
    const elapsed = (Date.now() - started) / 1000;
    const st = torrent.stats();
    display?.stop();
    display = undefined;
    ctx.stdout.write(
      `complete: ${safeText(meta.info.name)} ${humanBytes(st.totalBytes)} verified in ${elapsed.toFixed(1)} s ` +
        `(${humanBytes(st.downloaded / Math.max(elapsed, 0.001))}/s), ${st.downloaded} bytes downloaded, ` +
        `${st.uploaded} bytes uploaded, ${st.hashFailures} hash failures, ${st.banned} peers banned\n`,
    );
    if (opts.seed) {
      if (!opts.quiet) {
        ctx.stderr.write('seeding (Ctrl-C to stop)\n');
        display = new ProgressDisplay(ctx.stderr, () => torrent.stats());
        display.start();
      }
      await seedUntil(torrent, ctx.signal, opts);
    }
    return finish(ExitCode.ok);
  } finally {
    display?.stop();
    stopDht?.();
    await lsd?.close();
    await torrent.stop();
    if (ownClient) await client.close();
  }

  function interrupted(): number {
    return finish(ExitCode.interrupted, opts.resumeHint === false ? 'interrupted' : 'interrupted: verified pieces are kept; run the same command again to resume');
  }

  function finish(code: number, message?: string): number {
    display?.stop();
    display = undefined;
    if (message !== undefined) ctx.stderr.write(`tessera: ${message}\n`);
    if (code !== ExitCode.ok) {
      const st = torrent.stats();
      ctx.stdout.write(`stopped: ${st.verified}/${st.pieceCount} pieces verified, ${st.downloaded} bytes downloaded, ${st.hashFailures} hash failures, ${st.banned} peers banned\n`);
    }
    return code;
  }
}

/** Resident memory, and how much of it is array buffers (piece buffers, socket reads), for the trace. */
function memoryLine(): string {
  const m = process.memoryUsage();
  return `rss ${m.rss >> 20} MiB (array buffers ${m.arrayBuffers >> 20} MiB, heap ${m.heapUsed >> 20} MiB)`;
}

type Outcome = 'complete' | 'interrupted' | 'no-peers' | 'no-progress';

function waitFor(torrent: Torrent, signal: AbortSignal, noPeerTimeoutS: number): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let lastPeerAt = Date.now();
    // Peers that stay connected but send nothing (or only hold pieces we have) end the run too.
    let lastProgressAt = Date.now();
    let received = -1;
    const timer = setInterval(() => {
      const now = Date.now();
      const st = torrent.stats();
      if (st.downloaded !== received || st.state !== 'downloading') {
        received = st.downloaded;
        lastProgressAt = now;
      }
      if (st.peers > 0) lastPeerAt = now;
      else if (now - lastPeerAt > noPeerTimeoutS * 1000) return done('no-peers');
      if (now - lastProgressAt > noPeerTimeoutS * 1000) done('no-progress');
    }, 500);
    const onAbort = (): void => done('interrupted');
    const done = (o: Outcome): void => {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(o);
    };
    if (signal.aborted) return done('interrupted');
    signal.addEventListener('abort', onAbort);
    torrent.whenComplete().then(
      () => done('complete'),
      (err: unknown) => {
        clearInterval(timer);
        signal.removeEventListener('abort', onAbort);
        reject(new CliError(ExitCode.disk, `disk error: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      },
    );
  });
}

function seedUntil(torrent: Torrent, signal: AbortSignal, opts: RunOptions): Promise<void> {
  const started = Date.now();
  return new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const st = torrent.stats();
      const ratioMet = opts.ratio !== undefined && st.uploaded >= opts.ratio * st.totalBytes;
      const timeMet = opts.seedTimeS !== undefined && Date.now() - started >= opts.seedTimeS * 1000;
      if (ratioMet || timeMet) done();
    }, 500);
    const done = (): void => {
      clearInterval(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    if (signal.aborted) return done();
    signal.addEventListener('abort', done);
  });
}

export { formatDuration };
