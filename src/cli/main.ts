#!/usr/bin/env node
/**
 * The `tessera` command: parses the sub-command, runs it with a context whose signal fires on
 * Ctrl-C, and turns every error into one human line and a documented exit code.
 */
import { MetainfoError } from '../metainfo/errors.js';
import { StorageError } from '../storage/errors.js';
import { CliError, ExitCode, type CliContext, type Command } from './context.js';

const USAGE = `usage: tessera <command> [options]

commands:
  download <file.torrent|magnet:> [-o dir]   download a torrent
  seed <file.torrent> <dir>                  seed a torrent's content from dir
  create <file-or-folder> -o out.torrent     make a torrent
  info <file.torrent|magnet:> [--json]       show what a torrent or magnet link holds
  peers <file.torrent|magnet:> [--json]      ask the trackers for peers
  tracker [--http-port N] [--udp-port N]     run a tracker
  demo                                       download a sample torrent from local seeders

global options: --verbose (error details), --help`;

const commands: Record<string, () => Promise<Command>> = {
  info: async () => (await import('./commands/info.js')).infoCommand,
  peers: async () => (await import('./commands/peers.js')).peersCommand,
  tracker: async () => (await import('./commands/tracker.js')).trackerCommand,
  create: async () => (await import('./commands/create.js')).createCommand,
  download: async () => (await import('./commands/download.js')).downloadCommand,
  seed: async () => (await import('./commands/seed.js')).seedCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
};

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const args = argv.filter((a) => a !== '--verbose' && a !== '-v');
  const name = args[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(`tessera: unknown command '${name}'\n${USAGE}\n`);
    return ExitCode.usage;
  }
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, verbose, signal: controller.signal };
  try {
    const command = await load();
    return await command(args.slice(1), ctx);
  } catch (err) {
    // Whatever a command was doing when Ctrl-C aborted it (hashing, checking, fetching), the
    // user asked to stop: that is an interruption, not the error the abort surfaced as.
    if (controller.signal.aborted) {
      process.stderr.write('tessera: interrupted\n');
      return ExitCode.interrupted;
    }
    process.stderr.write(`tessera: ${oneLine(err)}\n`);
    if (verbose && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
    if (err instanceof CliError) return err.exitCode;
    if (err instanceof MetainfoError) return ExitCode.badInput;
    // node:util parseArgs: unknown option or a missing value.
    if (String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) return ExitCode.usage;
    if (err instanceof StorageError) return ExitCode.disk;
    return ExitCode.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`tessera: internal error: ${oneLine(err)}\n`);
  process.exit(ExitCode.failed);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tessera: internal error: ${oneLine(err)}\n`);
    process.exitCode = ExitCode.failed;
  },
);
