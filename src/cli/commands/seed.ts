/**
 * `tessera seed <file.torrent>... <dir> [--port N] [--peer host:port]... [--recheck] [--encryption POLICY] [--quiet]`:
 * serve torrents whose content is already in `<dir>` (the folder given to `download -o`, which
 * holds each `<name>`), all in one session. Every piece is verified first (from the resume
 * record where the files are unchanged, by reading them otherwise, always with `--recheck`);
 * incomplete data exits 3
 * with one line, because announcing as a seeder with missing pieces would mislead the swarm.
 *
 * Exit codes: seeding has no natural end, so Ctrl-C is the normal way to stop it and exits 0
 * once the trackers have been told. Ctrl-C during the initial check exits 130, like any
 * interrupted command, since nothing was served yet.
 */
import { stat } from 'node:fs/promises';
import { loadTorrentFile, type Metainfo, type PeerAddress } from '../../metainfo/index.js';
import { parsePeerArg, parsePort } from '../args.js';
import { parseCommandLine } from '../options.js';
import { seedSpec } from '../specs.js';
import { CliError, ExitCode, safeText, type CliContext, type Command } from '../context.js';
import { defaultResumeDir } from '../../storage/index.js';
import { runTorrents } from '../run-torrents.js';
import { encryptionOptions } from './download.js';

/**
 * `runTorrents` only gives up for lack of peers while downloading; a seeder has nothing to
 * download, so this never fires, but RunOptions needs a value.
 */
const NO_PEER_TIMEOUT_S = 120;

export const seedCommand: Command = async (argv: string[], ctx: CliContext): Promise<number> => {
  const { values, positionals } = parseCommandLine(argv, seedSpec);
  const dir = positionals.at(-1)!;
  const port = values.port !== undefined ? parsePort(values.port, '--port') : undefined;
  const peers: PeerAddress[] = values.peer.map(parsePeerArg);
  const clientOptions = encryptionOptions(values.encryption, ctx);
  const metas: Metainfo[] = [];
  for (const path of positionals.slice(0, -1)) metas.push(await loadTorrentFile(path));
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
    quiet: values.quiet,
    noPeerTimeoutS: NO_PEER_TIMEOUT_S,
    seed: true,
    seedOnly: true,
    resumeDir: defaultResumeDir(process.env),
    recheck: values.recheck,
    clientOptions,
    ...(port !== undefined ? { port } : {}),
  });
};
