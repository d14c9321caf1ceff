/**
 * `tessera download <file.torrent|magnet:|info hash|URL>... [-o dir]`: download every source
 * in one session, verify every piece, and exit 0 only when the whole content of each is on
 * disk. Ctrl-C stops cleanly (trackers told, writes flushed), and the next run resumes from
 * the verified pieces.
 *
 * A magnet link first fetches its metadata (BEP 9) from the peers its trackers, `x.pe`
 * entries, `--peer`, the DHT and PEX give, then carries on over the same connections. Unless
 * `--no-dht` is given or every torrent is private (BEP 27), a DHT node (BEP 5) runs for the
 * whole session, bootstrapped from `--dht-bootstrap host:port` (repeatable) or the public
 * routers, with its routing table cached in `$XDG_CACHE_HOME/tessera/dht.json` (only for the
 * public DHT: a custom bootstrap is a separate network whose nodes must not mix with the
 * cached ones).
 *
 * Verified pieces are remembered in a resume record under `$XDG_STATE_HOME/tessera/resume/`,
 * so a restart reads only the files that changed since; `--recheck` reads everything.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Metainfo, PeerAddress } from '../../metainfo/index.js';
import type { DhtOptions, SessionOptions } from '../../session/session.js';
import { resolveSource, type ResolvedSource } from '../../session/source.js';
import { defaultResumeDir } from '../../storage/index.js';
import type { PortMapEvent } from '../../portmap/index.js';
import { CliError, ExitCode, safeText, type CliContext } from '../context.js';
import { encryptionNoteLine, parseDuration, parseEncryption, parsePeerArg, parsePort, parseRate } from '../args.js';
import { parseFileSelection } from '../file-select.js';
import { ensureWritableFolder } from '../output-dir.js';
import { parseCommandLine } from '../options.js';
import { downloadSpec } from '../specs.js';
import { runTorrents, type RunOptions } from '../run-torrents.js';

export { saveTorrentFile, type RunOptions } from '../run-torrents.js';

export async function downloadCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, downloadSpec);
  const dht = dhtOptionsOf(values['no-dht'], values['dht-bootstrap']);
  const peers: PeerAddress[] = values.peer.map(parsePeerArg);
  const timeoutS = parseDuration(values.timeout, '--timeout');
  const ratio = values.ratio !== undefined ? Number(values.ratio) : undefined;
  if (ratio !== undefined && !(ratio >= 0)) throw new CliError(ExitCode.usage, `--ratio wants a number ≥ 0, got '${values.ratio}'`);
  const seedTime = values['seed-time'] !== undefined ? parseDuration(values['seed-time'], '--seed-time') : undefined;
  const port = values.port !== undefined ? parsePort(values.port, '--port') : undefined;
  const maxDownRate = parseRate(values['max-down'], '--max-down');
  const maxUpRate = parseRate(values['max-up'], '--max-up');
  const maxPeersPerIp = parseMaxPeersPerIp(values['max-peers-per-ip']);
  const selection = parseFileSelection(values);
  if (values.select !== undefined && positionals.length > 1) throw new CliError(ExitCode.usage, '--select numbers the files of one torrent: give a single source');
  // Before any network work (an http(s) source is fetched while resolving).
  await ensureWritableFolder(values.output);
  // Every source is read and parsed before anything listens: a bad one is a clear error up front.
  const sources: ResolvedSource[] = [];
  for (const s of positionals) sources.push(await resolveSource(s, { signal: ctx.signal }));
  const saveTorrent = values['save-torrent'];
  if (saveTorrent !== undefined && !(sources.length === 1 && sources[0]!.kind === 'magnet')) {
    throw new CliError(ExitCode.usage, '--save-torrent is for a single magnet link');
  }
  const webSeeds = await parseWebSeedArgs(values['web-seed']);
  return runTorrents(sources, ctx, {
    outputDir: values.output,
    peers,
    quiet: values.quiet || values.json,
    json: values.json,
    maxDownRate,
    maxUpRate,
    sequential: values.sequential,
    webSeeds,
    torrentWebSeeds: !values['no-web-seeds'],
    ...(values['on-done'] !== undefined ? { onDone: values['on-done'] } : {}),
    noPeerTimeoutS: timeoutS,
    seed: values.seed || ratio !== undefined || seedTime !== undefined,
    ...(ratio !== undefined ? { ratio } : {}),
    ...(seedTime !== undefined ? { seedTimeS: seedTime } : {}),
    ...(port !== undefined ? { port } : {}),
    dht,
    lsd: values.lsd,
    clientOptions: { ...encryptionOptions(values.encryption, ctx), ...portMappingOptions(values['no-port-mapping'], ctx), ...(values['no-utp'] ? { utp: false } : {}) },
    resumeDir: defaultResumeDir(process.env),
    recheck: values.recheck,
    ...(saveTorrent !== undefined ? { saveTorrent } : {}),
    ...(maxPeersPerIp !== undefined ? { maxPeersPerIp } : {}),
    ...(selection !== undefined ? { selection } : {}),
  });
}

/** `--max-peers-per-ip N`: a whole number from 1 to 1000. */
export function parseMaxPeersPerIp(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1 && n <= 1000)) throw new CliError(ExitCode.usage, '--max-peers-per-ip must be 1–1000');
  return n;
}

/**
 * Port mapping is on unless `--no-port-mapping` is given or `TESSERA_NO_PORT_MAPPING` is set
 * (for scripts and test runs that start many sessions); `--verbose` prints what the router did.
 */
export function portMappingOptions(off: boolean, ctx: CliContext, env: NodeJS.ProcessEnv = process.env): Pick<SessionOptions, 'portMapping'> {
  if (off || (env.TESSERA_NO_PORT_MAPPING ?? '') !== '') return { portMapping: false };
  return ctx.verbose ? { portMapping: { onEvent: (e) => ctx.stderr.write(`${portMapLine(e)}\n`) } } : { portMapping: true };
}

function portMapLine(e: PortMapEvent): string {
  switch (e.kind) {
    case 'mapped':
    case 'renewed':
    case 'removed':
      return `port mapping: ${e.kind} ${e.mapping.protocol} ${e.mapping.internalPort} -> ${e.mapping.externalPort} by ${e.mapping.method}${e.kind === 'removed' ? '' : ` for ${e.mapping.lifetime === 0 ? 'ever' : `${e.mapping.lifetime} s`}`}`;
    case 'external-address':
      return `port mapping: external address ${safeText(e.address)} (${e.method})`;
    case 'failed':
      return `port mapping: ${e.method} failed: ${safeText(e.message)}`;
  }
}

/** The session options of `--encryption` and, with `--verbose`, a line per policy mismatch. */
export function encryptionOptions(value: string | undefined, ctx: CliContext): Pick<SessionOptions, 'encryption' | 'onEncryptionMismatch'> {
  const encryption = parseEncryption(value);
  return ctx.verbose ? { encryption, onEncryptionMismatch: (note) => ctx.stderr.write(`${encryptionNoteLine(note)}\n`) } : { encryption };
}

/** `--web-seed` values: http(s) URLs, else a usage error naming the flag. The web seed layer loads only for them. */
async function parseWebSeedArgs(raws: readonly string[]): Promise<string[]> {
  if (raws.length === 0) return [];
  const { parseWebSeedUrl } = await import('../../webseed/index.js');
  return raws.map((raw) => {
    try {
      return parseWebSeedUrl(raw).href;
    } catch {
      throw new CliError(ExitCode.usage, `--web-seed wants an http(s) URL, got '${raw}'`);
    }
  });
}

/**
 * The DHT of `--no-dht` and `--dht-bootstrap` (repeatable): off, a network joined through the
 * given nodes, or by default the public DHT, whose routing table alone is cached (a custom
 * bootstrap is a separate network whose nodes must not mix with the cached ones).
 */
export function dhtOptionsOf(noDht: boolean, args: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): false | DhtOptions {
  if (noDht) return false;
  if (args === undefined || args.length === 0) return { stateFile: defaultDhtStateFile(env) };
  const bootstrap = args.map((a) => {
    try {
      return parsePeerArg(a);
    } catch {
      throw new CliError(ExitCode.usage, `--dht-bootstrap wants host:port, got '${a}'`);
    }
  });
  return { bootstrap };
}

/** `$XDG_CACHE_HOME/tessera/dht.json`, else `~/.cache/tessera/dht.json`. */
function defaultDhtStateFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'tessera', 'dht.json');
}

/** One torrent, as `seed` and `demo` run it. */
export function runTorrent(meta: Metainfo, ctx: CliContext, opts: RunOptions): Promise<number> {
  return runTorrents([{ kind: 'torrent', meta }], ctx, opts);
}
