/**
 * `tessera download <file.torrent> [-o dir]`: download, verify every piece, and exit 0 only
 * when the whole content is on disk. Ctrl-C stops cleanly (trackers told, writes flushed),
 * and the next run resumes from the verified pieces.
 */
import { parseArgs } from 'node:util';
import { loadTorrentFile, type Metainfo, type PeerAddress } from '../../metainfo/index.js';
import { Client } from '../../session/client.js';
import { Torrent } from '../../session/torrent.js';
import { CliError, ExitCode, humanBytes, safeText, type CliContext } from '../context.js';
import { formatDuration, ProgressDisplay } from '../progress.js';
import { parseDuration, parsePeerArg } from '../args.js';

/** Default for `--timeout`: give up when no peer has been reachable for this long. */
export const DEFAULT_NO_PEER_TIMEOUT_S = 120;

export async function downloadCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o', default: '.' },
      port: { type: 'string', short: 'p' },
      peer: { type: 'string', multiple: true },
      'no-dht': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      timeout: { type: 'string' },
      seed: { type: 'boolean' },
      ratio: { type: 'string' },
      'seed-time': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new CliError(ExitCode.usage, 'usage: tessera download <file.torrent> [-o dir]');
  const source = positionals[0]!;
  if (source.startsWith('magnet:')) throw new CliError(ExitCode.badInput, 'magnet links are not supported by download yet');
  const meta = await loadTorrentFile(source);
  const peers: PeerAddress[] = (values.peer ?? []).map(parsePeerArg);
  const timeoutS = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : DEFAULT_NO_PEER_TIMEOUT_S;
  const ratio = values.ratio !== undefined ? Number(values.ratio) : undefined;
  if (ratio !== undefined && !(ratio >= 0)) throw new CliError(ExitCode.usage, '--ratio must be a number ≥ 0');
  const seedTime = values['seed-time'] !== undefined ? parseDuration(values['seed-time'], '--seed-time') : undefined;
  const port = values.port !== undefined ? Number(values.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new CliError(ExitCode.usage, '--port must be 0–65535');

  return runTorrent(meta, ctx, {
    outputDir: values.output!,
    peers,
    quiet: values.quiet === true,
    noPeerTimeoutS: timeoutS,
    seed: values.seed === true || ratio !== undefined || seedTime !== undefined,
    ...(ratio !== undefined ? { ratio } : {}),
    ...(seedTime !== undefined ? { seedTimeS: seedTime } : {}),
    ...(port !== undefined ? { port } : {}),
  });
}

export interface RunOptions {
  outputDir: string;
  peers: PeerAddress[];
  quiet: boolean;
  noPeerTimeoutS: number;
  /** Keep seeding after completion (until Ctrl-C or a limit). */
  seed: boolean;
  ratio?: number;
  seedTimeS?: number;
  port?: number;
  /** `seed` command: the data must already be complete. */
  seedOnly?: boolean;
}

/** Shared by `download`, `seed` and `demo`: run one torrent to completion (and seed if asked). */
export async function runTorrent(meta: Metainfo, ctx: CliContext, opts: RunOptions): Promise<number> {
  const client = new Client(opts.port !== undefined ? { port: opts.port } : {});
  const started = Date.now();
  let display: ProgressDisplay | undefined;
  const say = (line: string): void => {
    if (display !== undefined) display.note(line);
    else ctx.stderr.write(`${line}\n`);
  };
  const torrent = new Torrent(meta, client, {
    outputDir: opts.outputDir,
    peers: opts.peers,
    events: {
      onTrackerError: (m) => {
        if (ctx.verbose) say(`tracker: ${safeText(m)}`);
      },
      onPeerBanned: (a, reason) => say(`banned ${a.host}:${a.port}: ${reason}`),
    },
  });
  try {
    await client.listen();
    if (!opts.quiet) ctx.stderr.write(`${safeText(meta.info.name)}: ${humanBytes(meta.info.length)} in ${meta.info.files.length} file(s), listening on port ${client.port}\n`);
    if (!opts.quiet) ctx.stderr.write('checking existing data…\n');
    await torrent.start(ctx.signal);
    if (ctx.signal.aborted) return finish(ExitCode.interrupted);
    const st0 = torrent.stats();
    if (st0.resumedBytes > 0 && !opts.quiet) ctx.stderr.write(`resuming: ${humanBytes(st0.resumedBytes)} already verified\n`);
    if (opts.seedOnly === true && st0.state !== 'seeding') {
      throw new CliError(ExitCode.badInput, `the data in ${opts.outputDir} is incomplete (${st0.verified}/${st0.pieceCount} pieces verified)`);
    }
    if (!opts.quiet) {
      display = new ProgressDisplay(ctx.stderr, () => torrent.stats());
      display.start();
    }
    const outcome = await waitFor(torrent, ctx.signal, opts.noPeerTimeoutS);
    if (outcome === 'interrupted') return finish(ExitCode.interrupted, 'interrupted: verified pieces are kept; run the same command again to resume');
    if (outcome === 'no-peers') return finish(ExitCode.failed, `no peer reachable for ${opts.noPeerTimeoutS} s, giving up (verified pieces are kept)`);
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
    await torrent.stop();
    await client.close();
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

type Outcome = 'complete' | 'interrupted' | 'no-peers';

function waitFor(torrent: Torrent, signal: AbortSignal, noPeerTimeoutS: number): Promise<Outcome> {
  return new Promise<Outcome>((resolve, reject) => {
    let lastPeerAt = Date.now();
    const timer = setInterval(() => {
      if (torrent.stats().peers > 0) lastPeerAt = Date.now();
      else if (Date.now() - lastPeerAt > noPeerTimeoutS * 1000) done('no-peers');
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
