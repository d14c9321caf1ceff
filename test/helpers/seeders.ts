/**
 * Real BitTorrent clients as seeders on loopback: transmission-daemon, aria2c and libtorrent
 * (through lt-seed.py). Each listens on 127.0.0.1 only, with DHT, LSD, PEX, UPnP/NAT-PMP and
 * uTP off and plaintext peers allowed, and is stopped by its PID.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARIA2_LOOPBACK_ARGS, ARIA2_REQUIRE_CRYPTO_ARGS, LT_FORCED_ENCRYPTION_ARGS, LT_UTP_ONLY_ARGS } from './client-args.js';
import { freePort } from './ports.js';
import { Proc, run, sleep, startProc } from './proc.js';
import type { TorrentMeta } from './torrents.js';

export interface Seeder {
  readonly pid: number;
  /** The BitTorrent listen port on 127.0.0.1. */
  readonly port: number;
  readonly proc: Proc;
  /** Ask the client to announce now, where it supports that. */
  reannounce(): Promise<void>;
  stop(): Promise<void>;
}

export interface SeederOptions {
  readonly torrents: readonly TorrentMeta[];
  /** The folder that holds each torrent's content (the parent of `<name>`). */
  readonly dataDir: string;
  /** A private scratch folder for the client's state. */
  readonly workDir: string;
  /** Upload limit in bytes per second; unlimited when absent. */
  readonly uploadLimit?: number;
  /** How long the client may take to check the data and become ready; default 120 s. */
  readonly readyTimeoutMs?: number;
  /** Require MSE/PE with RC4 for every peer, in and out (plaintext peers are refused). */
  readonly requireEncryption?: boolean;
}

const PYTHON = '/usr/bin/python3';

export async function until(what: string, timeoutMs: number, intervalMs: number, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await test()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** transmission-daemon's settings.json for a client of the tests (seeder or leecher). */
export function transmissionSettings(peerPort: number, rpcPort: number, downloadDir: string, uploadLimit: number | undefined, requireEncryption = false): object {
  return {
    'alt-speed-enabled': false,
    'bind-address-ipv4': '127.0.0.1',
    'bind-address-ipv6': '::1',
    'blocklist-enabled': false,
    'cache-size-mb': 4,
    'dht-enabled': false,
    'download-dir': downloadDir,
    'download-queue-enabled': false,
    // 0 = prefer plaintext, still accept encrypted peers; 2 = require encryption
    encryption: requireEncryption ? 2 : 0,
    'idle-seeding-limit-enabled': false,
    'incomplete-dir-enabled': false,
    'lpd-enabled': false,
    'message-level': 1,
    'peer-limit-global': 200,
    'peer-limit-per-torrent': 60,
    'peer-port': peerPort,
    'peer-port-random-on-start': false,
    'pex-enabled': false,
    'port-forwarding-enabled': false,
    'queue-stalled-enabled': false,
    'ratio-limit-enabled': false,
    'rename-partial-files': false,
    'rpc-authentication-required': false,
    'rpc-bind-address': '127.0.0.1',
    'rpc-enabled': true,
    'rpc-host-whitelist-enabled': false,
    'rpc-port': rpcPort,
    'rpc-whitelist': '127.0.0.1,::1',
    'rpc-whitelist-enabled': true,
    'scrape-paused-torrents-enabled': false,
    'seed-queue-enabled': false,
    'speed-limit-down-enabled': false,
    'speed-limit-up': uploadLimit === undefined ? 0 : Math.max(1, Math.round(uploadLimit / 1024)),
    'speed-limit-up-enabled': uploadLimit !== undefined,
    'start-added-torrents': true,
    'utp-enabled': false,
    'watch-dir-enabled': false,
  };
}

/**
 * transmission-daemon (3.00) in the foreground with its own config folder; the torrents are
 * added over RPC pointing at `dataDir`, and it is ready once every torrent is verified at 100%.
 */
export async function startTransmissionSeeder(options: SeederOptions): Promise<Seeder> {
  const [port, rpcPort] = [await freePort(), await freePort()];
  const cfg = join(options.workDir, 'transmission');
  await mkdir(cfg, { recursive: true });
  await writeFile(join(cfg, 'settings.json'), JSON.stringify(transmissionSettings(port, rpcPort, options.dataDir, options.uploadLimit, options.requireEncryption), null, 2));
  const proc = startProc('transmission-daemon', 'transmission-daemon', ['-f', '-g', cfg, '--log-error']);
  const remote = (args: string[]): Promise<Proc> => run('transmission-remote', [`127.0.0.1:${rpcPort}`, ...args], 20_000);
  const seeder: Seeder = {
    pid: proc.pid,
    port,
    proc,
    reannounce: async () => {
      await remote(['-t', 'all', '--reannounce']);
    },
    stop: async () => {
      await proc.stop();
    },
  };
  try {
    await until('transmission RPC', 20_000, 100, async () => {
      if (!proc.running) throw new Error(`transmission-daemon exited\n${proc.tail()}`);
      return remote(['-si']).then(
        () => true,
        () => false,
      );
    });
    for (const t of options.torrents) await remote(['-a', t.torrentPath, '-w', options.dataDir]);
    await until('transmission to verify every torrent at 100%', options.readyTimeoutMs ?? 120_000, 300, async () => {
      const rows = (await remote(['-l'])).stdout.split('\n').slice(1, -2);
      const done = rows.filter((r) => /\s100%\s/.test(r) && !/Verif/.test(r));
      return done.length >= options.torrents.length;
    });
    await seeder.reannounce();
    return seeder;
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** aria2c seeding the torrents from `dataDir` without a hash check (the data is known good). */
export async function startAria2Seeder(options: SeederOptions): Promise<Seeder> {
  const [port, dhtPort] = [await freePort(), await freePort()];
  await mkdir(options.workDir, { recursive: true });
  const args = [
    ...ARIA2_LOOPBACK_ARGS,
    `--dir=${options.dataDir}`,
    '--seed-ratio=0.0',
    '--bt-seed-unverified=true',
    '--check-integrity=false',
    `--listen-port=${port}`,
    `--dht-listen-port=${dhtPort}`,
    '--bt-max-peers=0',
    `--max-upload-limit=${options.uploadLimit ?? 0}`,
    `--stop-with-process=${process.pid}`,
    ...(options.requireEncryption === true ? ARIA2_REQUIRE_CRYPTO_ARGS : []),
    ...options.torrents.map((t) => t.torrentPath),
  ];
  const proc = startProc('aria2c', 'aria2c', args, { cwd: options.workDir });
  try {
    await proc.waitForLine(/listening on TCP port/, options.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    pid: proc.pid,
    port,
    proc,
    reannounce: async () => undefined,
    stop: async () => {
      await proc.stop();
    },
  };
}

export interface LibtorrentSeederOptions extends SeederOptions {
  /**
   * Partial seeder: hold only these pieces (e.g. "0-9,20"). The content is copied from
   * `dataDir` into a private folder for those pieces only. Needs exactly one torrent.
   */
  readonly pieces?: string;
  /** Listen on [::1] instead of 127.0.0.1 (the IPv6 tests). */
  readonly host?: '127.0.0.1' | '::1';
  /** Speak uTP only, TCP off both ways. */
  readonly utpOnly?: boolean;
}

export function ltScript(): string {
  const candidates = [join(dirname(fileURLToPath(import.meta.url)), 'lt-seed.py'), resolve('test/helpers/lt-seed.py')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`lt-seed.py not found (looked at ${candidates.join(', ')}); run tests from the repository root`);
  return found;
}

/** libtorrent-rasterbar via lt-seed.py, full or partial. */
export async function startLibtorrentSeeder(options: LibtorrentSeederOptions): Promise<Seeder> {
  const port = await freePort();
  await mkdir(options.workDir, { recursive: true });
  const save = options.pieces === undefined ? options.dataDir : join(options.workDir, 'partial');
  const args = [ltScript(), '--port', String(port), '--save', save, '--parent-pid', String(process.pid)];
  if (options.host !== undefined) args.push('--host', options.host);
  if (options.pieces !== undefined) args.push('--pieces', options.pieces, '--source', options.dataDir);
  if (options.uploadLimit !== undefined) args.push('--upload-limit', String(options.uploadLimit));
  if (options.requireEncryption === true) args.push(...LT_FORCED_ENCRYPTION_ARGS);
  if (options.utpOnly === true) args.push(...LT_UTP_ONLY_ARGS);
  args.push(...options.torrents.map((t) => t.torrentPath));
  const proc = startProc('lt-seed', PYTHON, args, { cwd: options.workDir });
  try {
    await proc.waitForLine(/^ready/, options.readyTimeoutMs ?? 120_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    pid: proc.pid,
    port,
    proc,
    reannounce: async () => proc.signal('SIGUSR1'),
    stop: async () => {
      await proc.stop();
    },
  };
}

export interface LibtorrentLeecherOptions {
  readonly torrent: string;
  /** The folder it downloads into (the parent of `<name>`). */
  readonly save: string;
  /** `host:port` of the peer it dials (it has no tracker). */
  readonly connect: string;
  /** Working folder of the process. */
  readonly cwd: string;
  /** More lt-seed.py arguments, e.g. `LT_UTP_ONLY_ARGS`. */
  readonly args?: readonly string[];
}

/** libtorrent downloading through lt-seed.py --leech: it exits 0 once the torrent is complete. */
export async function startLibtorrentLeecher(options: LibtorrentLeecherOptions): Promise<Proc> {
  const args = [ltScript(), '--port', String(await freePort()), '--save', options.save, '--leech', '--connect', options.connect];
  args.push('--parent-pid', String(process.pid), ...(options.args ?? []), options.torrent);
  return startProc('lt-leech', PYTHON, args, { cwd: options.cwd });
}
