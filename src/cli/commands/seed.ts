/**
 * `tessera seed <file.torrent>... <dir> [--port N] [--peer host:port]... [--recheck] [--encryption POLICY]
 * [--max-peers-per-ip N] [--quiet]`:
 * serve torrents whose content is already in `<dir>` (the folder given to `download -o`, which
 * holds each `<name>`), all in one session. Every piece is verified first (from the resume
 * record where the files are unchanged, by reading them otherwise, always with `--recheck`);
 * incomplete data exits 3
 * with one line, because announcing as a seeder with missing pieces would mislead the swarm.
 *
 * `<dir>` may also be the content itself (the torrent's folder, or its single file): seeding
 * then runs from its parent.
 *
 * Exit codes: Ctrl-C exits 130 as for every command, once the trackers have been told;
 * SIGTERM (a service manager stopping it) exits 0.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadTorrentFile, type Metainfo, type PeerAddress } from '../../metainfo/index.js';
import { parsePeerArg, parsePort, parseRate } from '../args.js';
import { parseCommandLine } from '../options.js';
import { seedSpec } from '../specs.js';
import { CliError, ExitCode, safeText, type CliContext, type Command } from '../context.js';
import { defaultResumeDir } from '../../storage/index.js';
import { runTorrents } from '../run-torrents.js';
import { encryptionOptions, parseMaxPeersPerIp, portMappingOptions } from './download.js';

/**
 * `runTorrents` only gives up for lack of peers while downloading; a seeder has nothing to
 * download, so this never fires, but RunOptions needs a value.
 */
const NO_PEER_TIMEOUT_S = 120;

export const seedCommand: Command = async (argv: string[], ctx: CliContext): Promise<number> => {
  const { values, positionals } = parseCommandLine(argv, seedSpec);
  const port = values.port !== undefined ? parsePort(values.port, '--port') : undefined;
  const peers: PeerAddress[] = values.peer.map(parsePeerArg);
  const clientOptions = { ...encryptionOptions(values.encryption, ctx), ...portMappingOptions(values['no-port-mapping'], ctx), ...(values['no-utp'] ? { utp: false } : {}) };
  const maxDownRate = parseRate(values['max-down'], '--max-down');
  const maxUpRate = parseRate(values['max-up'], '--max-up');
  const maxPeersPerIp = parseMaxPeersPerIp(values['max-peers-per-ip']);
  const metas: Metainfo[] = [];
  for (const path of positionals.slice(0, -1)) metas.push(await loadTorrentFile(path));
  const dir = await folderHolding(positionals.at(-1)!, metas);
  // Storage creates its output folder; for a seed a missing folder is a mistake to report,
  // not an empty tree to create.
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new CliError(ExitCode.badInput, `${safeText(dir)} is not a folder (give the folder that holds '${safeText(metas[0]!.info.name)}')`);

  return runTorrents(metas.map((meta) => ({ kind: 'torrent', meta })), ctx, {
    outputDir: dir,
    peers,
    quiet: values.quiet || values.json,
    json: values.json,
    maxDownRate,
    maxUpRate,
    noPeerTimeoutS: NO_PEER_TIMEOUT_S,
    seed: true,
    seedOnly: true,
    // Nothing to resume for a seeder: a plain "interrupted".
    resumeHint: false,
    resumeDir: defaultResumeDir(process.env),
    recheck: values.recheck,
    clientOptions,
    ...(port !== undefined ? { port } : {}),
    ...(maxPeersPerIp !== undefined ? { maxPeersPerIp } : {}),
  });
};

/**
 * The folder that holds the content: `dir` itself, or its parent when `dir` is the content
 * (named as the torrent, and not holding an entry of that name itself).
 */
async function folderHolding(dir: string, metas: readonly Metainfo[]): Promise<string> {
  if (metas.length !== 1) return dir;
  const name = metas[0]!.info.name;
  const inside = await stat(path.join(dir, name)).then(() => true, () => false);
  if (inside) return dir;
  const resolved = path.resolve(dir);
  return path.basename(resolved) === name && (await stat(resolved).then(() => true, () => false)) ? path.dirname(resolved) : dir;
}
