#!/usr/bin/env -S node --openssl-legacy-provider
/**
 * The `tessera` command: parses the sub-command, runs it with a context whose signal fires on
 * Ctrl-C, and turns every error into one human line and a documented exit code.
 *
 * The shebang gives Node one flag, OpenSSL's legacy provider: RC4 for encrypted connections
 * (src/mse/rc4.ts). The commands that move data bound the heap from inside the process (heap.ts)
 * before their modules load; `info`, `peers` and `tracker` are short and keep V8's defaults.
 */
import { MetainfoError } from '../metainfo/errors.js';
import { StorageError } from '../storage/errors.js';
import { CliError, ExitCode, packageVersion, safeText, type CliContext, type Command } from './context.js';
import { loadModule } from './load-module.js';
import { helpText, HelpRequested } from './options.js';
import { COMMAND_SPECS } from './specs.js';
import { ownEntry } from '../util/own.js';

function usage(): string {
  const rows = COMMAND_SPECS.map((c) => `  ${`${c.name} ${c.args}`.padEnd(36)}${c.summary.split('. ')[0]!.replace(/\.$/, '')}`);
  return `usage: tessera <command> [options]\n\ncommands:\n${rows.join('\n')}\n\n'tessera <command> --help' lists every option of a command with its default.\nglobal options: -v, --verbose (error details), -h, --help, --version\n`;
}

/** One of this folder's modules, by its path from here (load-module.ts). */
const local = <T>(path: string): Promise<T> => loadModule<T>(new URL(path, import.meta.url));

/** Loads a command that moves data, with the heap bounded first (heap.ts). */
async function bounded(load: () => Promise<Command>): Promise<Command> {
  (await local<typeof import('./heap.js')>('./heap.js')).boundHeap();
  return load();
}

const commands: Record<string, () => Promise<Command>> = {
  info: async () => (await local<typeof import('./commands/info.js')>('./commands/info.js')).infoCommand,
  peers: async () => (await local<typeof import('./commands/peers.js')>('./commands/peers.js')).peersCommand,
  tracker: async () => (await local<typeof import('./commands/tracker.js')>('./commands/tracker.js')).trackerCommand,
  create: () => bounded(async () => (await local<typeof import('./commands/create.js')>('./commands/create.js')).createCommand),
  download: () => bounded(async () => (await local<typeof import('./commands/download.js')>('./commands/download.js')).downloadCommand),
  seed: () => bounded(async () => (await local<typeof import('./commands/seed.js')>('./commands/seed.js')).seedCommand),
  stream: () => bounded(async () => (await local<typeof import('./commands/stream.js')>('./commands/stream.js')).streamCommand),
  daemon: () => bounded(async () => (await local<typeof import('./commands/daemon.js')>('./commands/daemon.js')).daemonCommand),
  demo: () => bounded(async () => (await local<typeof import('./commands/demo.js')>('./commands/demo.js')).demoCommand),
};

/** EADDRINUSE from a listen: say which port, and which flag picks another. */
function portInUse(err: unknown): string | undefined {
  const e = err as { code?: unknown; port?: unknown } | undefined;
  if (e?.code !== 'EADDRINUSE') return undefined;
  return `port ${typeof e.port === 'number' ? e.port : ''} is already in use (choose another with --port, or --port 0 for any free one)`.replace('port  is', 'the port is');
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const args = argv.filter((a) => a !== '--verbose' && a !== '-v');
  const name = args[0];
  if (name === '--version' || name === '-V') {
    process.stdout.write(`tessera ${packageVersion()}\n`);
    return ExitCode.ok;
  }
  if (name === undefined) {
    process.stderr.write(usage());
    return ExitCode.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const about = args[1] === undefined ? undefined : COMMAND_SPECS.find((c) => c.name === args[1]);
    process.stdout.write(about !== undefined ? helpText(about) : usage());
    return ExitCode.ok;
  }
  const load = ownEntry(commands, name);
  if (load === undefined) {
    process.stderr.write(`tessera: unknown command '${safeText(name)}' (see 'tessera --help')\n`);
    return ExitCode.usage;
  }
  const controller = new AbortController();
  let interrupts = 0;
  // The signal's name is the abort reason: a service told to stop (SIGTERM) ends cleanly,
  // Ctrl-C (SIGINT) is an interruption (130). A second one exits at once, whatever is pending.
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write('\ntessera: interrupted again, exiting now without waiting for trackers or disk\n');
      process.exit(ExitCode.interrupted);
    }
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The reader of our output went away (`tessera info x.torrent | head`): stop as a service
  // told to stop would, without a word, and let the rest of the output go nowhere.
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
    if (!controller.signal.aborted) controller.abort('SIGTERM');
  };
  process.stdout.on('error', onStdoutError);
  const ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, verbose, signal: controller.signal };
  try {
    const command = await load();
    return await command(args.slice(1), ctx);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(err.text);
      return ExitCode.ok;
    }
    // Whatever a command was doing when Ctrl-C aborted it (hashing, checking, fetching), the
    // user asked to stop: that is an interruption, not the error the abort surfaced as.
    if (controller.signal.aborted) {
      process.stderr.write('tessera: interrupted\n');
      return ExitCode.interrupted;
    }
    const inUse = portInUse(err);
    process.stderr.write(`tessera: ${inUse ?? oneLine(err)}\n`);
    if (inUse !== undefined) return ExitCode.failed;
    if (verbose && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
    if (err instanceof CliError) return err.exitCode;
    if (err instanceof MetainfoError) return ExitCode.badInput;
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
