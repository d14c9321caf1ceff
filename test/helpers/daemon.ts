/**
 * `tessera daemon` as a child process for tests: its own config and download folders, the
 * HTTP server on a free loopback port, DHT off, and clients to drive it — the real
 * transmission-remote, and a small JSON-RPC client that does the session-id handshake.
 */
import { join } from 'node:path';
import { freePort } from './ports.js';
import { run, startProc, type Proc } from './proc.js';
import { waitForTrackerPeers } from './scrape.js';
import { startLibtorrentSeeder, type Seeder } from './seeders.js';
import { createSwarm, required, type Swarm } from './swarm.js';
import { cliPath } from './tessera.js';

export interface DaemonProc {
  readonly proc: Proc;
  readonly rpcPort: number;
  readonly url: string;
  /** Run transmission-remote against the daemon; rejects on a non-zero exit. */
  remote(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** One Transmission RPC call; resolves with the whole answer. */
  rpc(method: string, args?: Record<string, unknown>): Promise<{ result: string; arguments: Record<string, unknown> }>;
}

export interface StartDaemonOptions {
  readonly configDir: string;
  readonly downloadDir: string;
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Reuse this HTTP port (a restart). */
  readonly rpcPort?: number;
  /** user:password for transmission-remote and rpc(). */
  readonly auth?: string;
}

export async function startDaemon(o: StartDaemonOptions): Promise<DaemonProc> {
  const rpcPort = o.rpcPort ?? (await freePort());
  const args = [cliPath, 'daemon', '--config-dir', o.configDir, '--download-dir', o.downloadDir, '--rpc-port', String(rpcPort), '--port', String(await freePort()), '--no-dht', '--max-peers-per-ip', '20', ...(o.args ?? [])];
  const proc = startProc('tessera-daemon', process.execPath, args, { graceMs: 15_000, ...(o.env !== undefined ? { env: o.env } : {}) });
  await proc.waitForLine(/tessera daemon: listening on/, 30_000);
  const url = `http://127.0.0.1:${rpcPort}`;
  let sessionId = '';
  const authHeader: Record<string, string> = o.auth !== undefined ? { Authorization: `Basic ${Buffer.from(o.auth).toString('base64')}` } : {};
  const rpc = async (method: string, a: Record<string, unknown> = {}): Promise<{ result: string; arguments: Record<string, unknown> }> => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${url}/transmission/rpc`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Transmission-Session-Id': sessionId, ...authHeader },
        body: JSON.stringify({ method, arguments: a }),
      });
      if (res.status === 409) {
        sessionId = res.headers.get('x-transmission-session-id') ?? '';
        await res.arrayBuffer();
        continue;
      }
      if (!res.ok) throw new Error(`rpc ${method}: HTTP ${res.status}`);
      return (await res.json()) as { result: string; arguments: Record<string, unknown> };
    }
    throw new Error(`rpc ${method}: no session id after the 409 handshake`);
  };
  return {
    proc,
    rpcPort,
    url,
    rpc,
    remote: async (rargs, timeoutMs = 30_000) => {
      const auth = o.auth !== undefined ? ['--auth', o.auth] : [];
      return (await run('transmission-remote', [`127.0.0.1:${rpcPort}`, ...auth, ...rargs], timeoutMs)).stdout;
    },
  };
}

/** The rows of `transmission-remote -l`: id, done column, status and name. */
export function listRows(out: string): { id: number; done: string; status: string; name: string }[] {
  const lines = out.split('\n');
  const header = lines[0] ?? '';
  const statusAt = header.indexOf('Status');
  const nameAt = header.indexOf('Name');
  return lines
    .slice(1)
    .filter((l) => /^\s+\d+\*?\s/.test(l))
    .map((l) => ({
      id: Number(/^\s+(\d+)/.exec(l)![1]),
      done: l.trim().split(/\s+/)[1]!,
      status: l.slice(statusAt, nameAt).trim(),
      name: l.slice(nameAt).trim(),
    }));
}

/**
 * A swarm for the daemon's tests: a single-file and a 12-file torrent on opentracker (HTTP),
 * seeded by libtorrent at `uploadLimit` bytes per second, ready once the tracker lists it.
 */
export async function seededSwarm(label: string, singleSize: number, uploadLimit: number): Promise<{ swarm: Swarm; seeder: Seeder }> {
  const swarm = await createSwarm({ label, singleSize, treeFiles: 12, pieceLengthLog2: 16, tracker: 'http' });
  const torrents = [required(swarm.single, 'single'), required(swarm.multi, 'multi')];
  const seeder = await startLibtorrentSeeder({ torrents, dataDir: swarm.dataDir, workDir: join(swarm.root, 'lt'), uploadLimit });
  await waitForTrackerPeers(required(swarm.tracker, 'tracker').port, torrents.map((t) => t.infoHash), 1, [seeder]);
  return { swarm, seeder };
}
