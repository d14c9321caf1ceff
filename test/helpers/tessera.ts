/**
 * Runs the built `tessera` CLI as a child process. The CLI lives in the same build output as
 * the compiled tests: <outDir>/src/cli/main.js next to <outDir>/test/helpers/tessera.js.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { startProc, type Proc } from './proc.js';

export const cliPath = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The flags a `#!/usr/bin/env -S node <flags>` line gives Node. */
export function shebangNodeArgs(text: string): string[] {
  const first = text.slice(0, text.indexOf('\n'));
  const m = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=[a-z0-9]+)?)*)$/.exec(first);
  if (m === null) throw new Error(`not a node shebang: ${first}`);
  return m[1]!.split(' ').filter((a) => a !== '');
}

/**
 * What the CLI's shebang gives Node, so that downloads and seeds run as users' do: RC4 from
 * OpenSSL on encrypted connections (src/mse/rc4.ts).
 */
export const CLI_NODE_ARGS: readonly string[] = shebangNodeArgs(readFileSync(cliPath, 'utf8'));

export interface DownloadOptions {
  readonly torrent: string;
  readonly outDir: string;
  /** Peers added directly (`--peer host:port`). */
  readonly peers?: readonly string[];
  /** More CLI arguments (e.g. `--encryption require`). */
  readonly args?: readonly string[];
}

/** Start `tessera download` with DHT off and a fresh listen port. */
export async function startDownload(options: DownloadOptions): Promise<Proc> {
  const args = [...CLI_NODE_ARGS, cliPath, 'download', options.torrent, '-o', options.outDir, '--port', String(await freePort()), '--no-dht'];
  for (const p of options.peers ?? []) args.push('--peer', p);
  args.push(...(options.args ?? []));
  return startProc('tessera', process.execPath, args, { graceMs: 15_000 });
}

export interface Summary {
  readonly bytesDownloaded: number;
  readonly hashFailures: number;
  readonly peersBanned: number;
  readonly line: string;
}

/** The summary line of a finished run: `<N> bytes downloaded`, `<k> hash failures`, `<b> peers banned`. */
export function parseSummary(stdout: string): Summary {
  const lines = stdout.split(/\r?\n|\r/).filter((l) => /\bbytes downloaded\b/.test(l));
  const line = lines[lines.length - 1];
  if (line === undefined) throw new Error(`no summary line with 'bytes downloaded' on stdout:\n${stdout.slice(-3000)}`);
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(line);
    if (m === null || m[1] === undefined) throw new Error(`summary line has no '${what}': ${line}`);
    return Number(m[1].replace(/[,_]/g, ''));
  };
  return {
    bytesDownloaded: num(/(\d[\d,_]*) bytes downloaded/, '<N> bytes downloaded'),
    hashFailures: num(/(\d+) hash failures?/, '<k> hash failures'),
    peersBanned: num(/(\d+) peers? banned/, '<b> peers banned'),
    line,
  };
}
