/**
 * `tessera daemon`: the daemon and its HTTP server until SIGTERM/SIGINT (or an RPC
 * `session-close`). Settings come from the defaults, then `settings.json` in the config
 * folder, then the command line.
 */
import path from 'node:path';
import { Daemon, DaemonError, DaemonServer, mergeSettings, readSettingsFile, defaultConfigDir, type DaemonSettings } from '../../daemon/index.js';
import { parseEncryption, parsePort, parseRate } from '../args.js';
import { CliError, ExitCode, packageVersion, safeText, type CliContext } from '../context.js';
import { parseCommandLine } from '../options.js';
import { daemonSpec } from '../specs.js';
import { parseMaxPeersPerIp } from './download.js';

export async function daemonCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandLine(argv, daemonSpec);
  const flags: Partial<DaemonSettings> = {};
  if (values['download-dir'] !== undefined) flags.downloadDir = values['download-dir'];
  if (values['watch-dir'] !== undefined) flags.watchDir = values['watch-dir'];
  if (values['allow-dir'].length > 0) flags.allowedDirs = values['allow-dir'];
  if (values['rpc-port'] !== undefined) flags.rpcPort = parsePort(values['rpc-port'], '--rpc-port');
  if (values['rpc-bind'] !== undefined) flags.rpcBind = values['rpc-bind'];
  if (values['rpc-username'] !== undefined) flags.rpcUsername = values['rpc-username'];
  if (values['rpc-host-whitelist'].length > 0) flags.rpcHostWhitelist = values['rpc-host-whitelist'];
  if (values.port !== undefined) flags.port = parsePort(values.port, '--port');
  if (values['no-dht']) flags.dht = false;
  if (values['max-down'] !== undefined) flags.maxDown = parseRate(values['max-down'], '--max-down');
  if (values['max-up'] !== undefined) flags.maxUp = parseRate(values['max-up'], '--max-up');
  if (values.encryption !== undefined) flags.encryption = parseEncryption(values.encryption);
  const perIp = parseMaxPeersPerIp(values['max-peers-per-ip']);
  if (perIp !== undefined) flags.maxPeersPerIp = perIp;
  if (values['start-paused']) flags.startAddedTorrents = false;
  const password = process.env.TESSERA_RPC_PASSWORD;
  if (password !== undefined && password !== '') flags.rpcPassword = password;
  const configDir = path.resolve(values['config-dir'] ?? defaultConfigDir(process.env));

  let settings: DaemonSettings;
  try {
    settings = mergeSettings(await readSettingsFile(configDir), flags);
  } catch (err) {
    if (err instanceof DaemonError) throw new CliError(ExitCode.usage, err.message);
    throw err;
  }
  if ((settings.rpcUsername === undefined) !== (settings.rpcPassword === undefined)) {
    throw new CliError(ExitCode.usage, 'authentication needs both a user name (--rpc-username or rpc-username) and a password ($TESSERA_RPC_PASSWORD or rpc-password)');
  }
  const log = (line: string): void => void ctx.stderr.write(`tessera daemon: ${safeText(line)}\n`);
  const daemon = await Daemon.start({ settings, configDir, fromFlags: new Set(Object.keys(flags) as (keyof DaemonSettings)[]), log });
  let server: DaemonServer | undefined;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    server = await DaemonServer.listen({
      daemon,
      host: settings.rpcBind,
      port: settings.rpcPort,
      ...(settings.rpcUsername !== undefined ? { username: settings.rpcUsername } : {}),
      ...(settings.rpcPassword !== undefined ? { password: settings.rpcPassword } : {}),
      hostWhitelist: settings.rpcHostWhitelist,
      maxBody: settings.rpcMaxBody,
      version: `3.00 (tessera ${packageVersion()})`,
      onShutdown: () => stop.abort(),
    });
    const host = settings.rpcBind.includes(':') ? `[${settings.rpcBind}]` : settings.rpcBind;
    ctx.stdout.write(
      `tessera daemon: listening on http://${host}:${server.port}/ (web interface; Transmission RPC at /transmission/rpc), peers on port ${daemon.session.port}, ${daemon.list().length} torrents, config in ${configDir}\n`,
    );
    if (!stop.signal.aborted) await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  } catch (err) {
    if (err instanceof DaemonError) throw new CliError(err.code === 'auth-required' ? ExitCode.usage : ExitCode.failed, err.message);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(ExitCode.failed, `HTTP port ${settings.rpcPort} on ${settings.rpcBind} is already in use (choose another with --rpc-port)`);
    }
    throw err;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await server?.close();
    await daemon.close();
  }
  return ctx.signal.reason === 'SIGINT' ? ExitCode.interrupted : ExitCode.ok;
}
