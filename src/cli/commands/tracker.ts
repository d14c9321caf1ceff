/**
 * `tessera tracker [--http-port N] [--udp-port N] [--host IP] [--interval S]`: run the
 * built-in tracker (HTTP and UDP, any info hash, in memory) until Ctrl-C. Port 0 picks a
 * free port; the URLs printed are the ones to put in a torrent.
 */
import { startTrackerServer } from '../../tracker/index.js';
import { parseIntIn, parsePort } from '../args.js';
import { CliError, ExitCode, type Command } from '../context.js';
import { parseCommandLine } from '../options.js';
import { trackerSpec } from '../specs.js';

export const trackerCommand: Command = async (argv, ctx) => {
  const { values } = parseCommandLine(argv, trackerSpec);
  const httpPort = parsePort(values['http-port'], '--http-port');
  const udpPort = parsePort(values['udp-port'], '--udp-port');
  const interval = parseIntIn(values.interval, '--interval', 1, 86400);
  const host = values.host;
  if (ctx.signal.aborted) return ExitCode.interrupted;
  const server = await startTrackerServer({ httpPort, udpPort, host, interval }).catch((err: unknown) => {
    const e = err as { code?: unknown; port?: unknown; syscall?: unknown };
    if (e.code === 'EADDRINUSE') {
      const flag = e.port === httpPort && e.port !== udpPort ? '--http-port' : e.port === udpPort && e.port !== httpPort ? '--udp-port' : '--http-port/--udp-port';
      throw new CliError(ExitCode.failed, `port ${String(e.port)} is already in use (choose another with ${flag}, 0 for any free one)`, { cause: err });
    }
    throw new CliError(ExitCode.failed, `cannot start the tracker: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  ctx.stdout.write(`tracker running (Ctrl-C to stop)\n  ${server.httpUrl}\n  ${server.udpUrl}\n`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  ctx.stdout.write('tracker stopped\n');
  // SIGTERM asks a service to stop: a clean end. Ctrl-C is an interruption, as for every command.
  return ctx.signal.reason === 'SIGTERM' ? ExitCode.ok : ExitCode.interrupted;
};
