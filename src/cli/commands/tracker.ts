/**
 * `tessera tracker [--http-port N] [--udp-port N] [--host IP] [--interval S]`: run the
 * built-in tracker (HTTP and UDP, any info hash, in memory) until Ctrl-C. Port 0 picks a
 * free port; the URLs printed are the ones to put in a torrent.
 */
import { startTrackerServer } from '../../tracker/index.js';
import { CliError, ExitCode, type Command } from '../context.js';

const USAGE = 'usage: tessera tracker [--http-port N] [--udp-port N] [--host 127.0.0.1] [--interval SECONDS]';

function intOption(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min || n > max) throw new CliError(ExitCode.usage, `${name} needs an integer from ${min} to ${max}\n${USAGE}`);
  return n;
}

export const trackerCommand: Command = async (argv, ctx) => {
  let httpPort = 6969;
  let udpPort = 6969;
  let host = '127.0.0.1';
  let interval = 1800;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = argv[i + 1];
    switch (arg) {
      case '--http-port':
        httpPort = intOption(arg, value, 0, 65535);
        break;
      case '--udp-port':
        udpPort = intOption(arg, value, 0, 65535);
        break;
      case '--interval':
        interval = intOption(arg, value, 1, 86400);
        break;
      case '--host':
        if (value === undefined) throw new CliError(ExitCode.usage, USAGE);
        host = value;
        break;
      default:
        throw new CliError(ExitCode.usage, `unknown option '${arg}'\n${USAGE}`);
    }
    i++;
  }
  if (ctx.signal.aborted) return ExitCode.interrupted;
  const server = await startTrackerServer({ httpPort, udpPort, host, interval }).catch((err: unknown) => {
    throw new CliError(ExitCode.failed, `cannot start the tracker: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  ctx.stdout.write(`tracker running (Ctrl-C to stop)\n  ${server.httpUrl}\n  ${server.udpUrl}\n`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  ctx.stdout.write('tracker stopped\n');
  return ExitCode.ok;
};
