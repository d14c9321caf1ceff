/**
 * `tessera stream <source> [-o DIR] [--file N] [--http-port P] [--player mpv|vlc]`: download
 * a torrent while serving its files over HTTP on 127.0.0.1. The pieces under each read
 * position come first (a read marks them urgent and waits for them), the rest follow in order.
 * The file URLs are printed on standard output, one per line; the server keeps serving after
 * the download completes, until Ctrl-C (exit 130).
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PeerAddress } from '../../metainfo/types.js';
import type { TorrentHandle } from '../../session/handle.js';
import { Session } from '../../session/session.js';
import { resolveSource } from '../../session/source.js';
import { StreamServer } from '../../stream/index.js';
import { parseDuration, parseIntIn, parsePeerArg, parsePort, parseRate } from '../args.js';
import { CliError, ExitCode, humanBytes, safeText, type CliContext, type Command } from '../context.js';
import { JsonLines, watchJson } from '../json-events.js';
import { parseCommandLine } from '../options.js';
import { ensureWritableFolder } from '../output-dir.js';
import { ProgressDisplay } from '../progress.js';
import { until } from '../run-torrents.js';
import { streamSpec } from '../specs.js';
import { TorrentStreamSource, type StreamTorrent } from '../stream-source.js';
import { dhtOptionsOf } from './download.js';

const accessP = promisify(access);

export const streamCommand: Command = async (argv: string[], ctx: CliContext): Promise<number> => {
  const { values, positionals } = parseCommandLine(argv, streamSpec);
  const port = values.port !== undefined ? parsePort(values.port, '--port') : undefined;
  const httpPort = parsePort(values['http-port'], '--http-port');
  const fileIndex = values.file !== undefined ? parseIntIn(values.file, '--file', 0, 1_000_000) : undefined;
  const player = values.player;
  if (player !== undefined && player !== 'mpv' && player !== 'vlc') throw new CliError(ExitCode.usage, `--player wants mpv or vlc, got '${safeText(player)}'`);
  const maxDown = parseRate(values['max-down'], '--max-down');
  const maxUp = parseRate(values['max-up'], '--max-up');
  const peers: PeerAddress[] = values.peer.map(parsePeerArg);
  const dht = dhtOptionsOf(values['no-dht'], values['dht-bootstrap']);
  const timeoutS = parseDuration(values.timeout, '--timeout');
  await ensureWritableFolder(values.output);
  const source = await resolveSource(positionals[0]!, { signal: ctx.signal });
  const json = values.json ? new JsonLines(ctx.stdout) : undefined;
  const started = Date.now();

  const session = new Session({
    ...(port !== undefined ? { port } : {}),
    dht,
    maxDownloadRate: maxDown,
    maxUploadRate: maxUp,
    ...(values['no-utp'] ? { utp: false } : {}),
  });
  let server: StreamServer | undefined;
  let streamSource: TorrentStreamSource | undefined;
  let display: ProgressDisplay | undefined;
  try {
    const handle = await session.add(source.kind === 'torrent' ? source.meta : source.magnet, {
      path: values.output,
      peers,
      ...(source.kind === 'magnet' ? { metadataTimeoutMs: timeoutS * 1000 } : {}),
    });
    if (json !== undefined) watchJson(handle, json, source.kind, values.output, { seedAfterDone: true });
    if (fileIndex !== undefined) {
      // One file asked for: the others are never created (the pieces they share go to the part
      // file). Set as soon as the metadata is known, before the files are opened.
      const selectOne = (): void => {
        const count = handle.files().length;
        if (fileIndex < count) handle.setFilePriorities(Array.from({ length: count }, (_, i) => (i === fileIndex ? 'normal' : 'skip'))).catch(() => undefined);
      };
      if (handle.metainfo !== undefined) selectOne();
      else handle.once('metadata', selectOne);
    }
    if (!values.quiet && !values.json) ctx.stderr.write(`${source.kind === 'magnet' ? 'fetching metadata' : 'checking existing data'}…\n`);
    const ready = await until(handle.whenReady(), ctx.signal);
    if (ready === 'interrupted') return ExitCode.interrupted;
    if (ready instanceof Error) throw ready;
    const meta = handle.metainfo!;
    const files = handle.files();
    if (fileIndex !== undefined && fileIndex >= files.length) throw new CliError(ExitCode.usage, `--file ${fileIndex}: the torrent has ${files.length} file(s), numbered from 0`);
    handle.setSequential(true);
    streamSource = new TorrentStreamSource(streamTorrentOf(handle), values.output);
    server = await StreamServer.start(streamSource, { port: httpPort }).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'EADDRINUSE') throw new CliError(ExitCode.failed, `port ${httpPort} is already in use (choose another with --http-port, 0 for any free one)`, { cause: err });
      throw err;
    });
    const urls = server.urls();
    if (json !== undefined) json.emit({ event: 'stream', infoHash: handle.infoHash, urls });
    else for (const u of urls) ctx.stdout.write(`${u}\n`);
    if (!values.quiet && json === undefined) {
      ctx.stderr.write(`${safeText(meta.info.name)}: ${humanBytes(meta.info.length)}, serving on http://127.0.0.1:${server.port}/ (Ctrl-C to stop)\n`);
      display = new ProgressDisplay(ctx.stderr, () => handle.stats(), { name: meta.info.name });
      display.start();
    }
    handle.once('done', () => {
      if (json !== undefined) json.emit({ event: 'done', infoHash: handle.infoHash, name: meta.info.name, output: path.join(values.output, meta.info.name), totalBytes: meta.info.length, seconds: Math.round((Date.now() - started) / 100) / 10 });
      else display?.note('download complete; still serving (Ctrl-C to stop)');
    });
    if (player !== undefined) await openPlayer(player, urls[0]!, (line) => (display !== undefined ? display.note(line) : ctx.stderr.write(`${line}\n`)));
    await until(new Promise<never>(() => undefined), ctx.signal);
    return ctx.signal.reason === 'SIGTERM' ? ExitCode.ok : ExitCode.interrupted;
  } finally {
    display?.stop();
    await server?.close();
    await streamSource?.close();
    await session.close();
  }
};

function streamTorrentOf(handle: TorrentHandle): StreamTorrent {
  const info = handle.metainfo!.info;
  return {
    files: () => handle.files(),
    pieceLength: info.pieceLength,
    pieceCount: info.pieceCount,
    hasPiece: (i) => handle.hasPiece(i),
    setUrgent: (pieces) => handle.setUrgent(pieces),
    onVerified: (fn) => {
      handle.on('verified', fn);
      return () => handle.off('verified', fn);
    },
  };
}

/** Start the player on the URL when it is installed; say so when it is not. */
async function openPlayer(player: 'mpv' | 'vlc', url: string, say: (line: string) => void): Promise<void> {
  const exe = await findOnPath(player);
  if (exe === undefined) {
    say(`tessera: ${player} is not installed; open ${url} in a player yourself`);
    return;
  }
  const child = spawn(exe, [url], { stdio: 'ignore', detached: true });
  child.on('error', (err) => say(`tessera: cannot start ${player}: ${err.message}`));
  child.unref();
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (await accessP(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}
