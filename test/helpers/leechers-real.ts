/**
 * Real BitTorrent clients as leechers for the seed tests: aria2c and transmission-daemon
 * (3.00). Each listens on 127.0.0.1 only, with DHT, LSD, PEX, UPnP/NAT-PMP and uTP off and
 * plaintext peers allowed, on fresh ports, and is stopped by its PID (proc.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARIA2_LOOPBACK_ARGS } from './client-args.js';
import { freePort } from './ports.js';
import { transmissionSettings } from './seeders.js';
import { run, sleep, startProc, type Proc } from './proc.js';

/** aria2c downloading `torrent` into `outDir`; exits 0 once complete (--seed-time=0). */
export async function startAria2Leecher(torrent: string, outDir: string): Promise<Proc> {
  await mkdir(outDir, { recursive: true });
  return startProc('aria2c-leech', 'aria2c', [
    ...ARIA2_LOOPBACK_ARGS,
    `--dir=${outDir}`,
    '--seed-time=0',
    `--listen-port=${await freePort()}`,
    `--dht-listen-port=${await freePort()}`,
    `--stop-with-process=${process.pid}`,
    torrent,
  ]);
}

export interface TransmissionLeecher {
  readonly proc: Proc;
  /** Its BitTorrent listen port on 127.0.0.1. */
  readonly port: number;
  /** Resolve once every piece is verified, then stop the daemon so its cache is on disk. */
  waitComplete(timeoutMs: number): Promise<void>;
}

/**
 * transmission-daemon in the foreground with its own config folder, leeching `torrent` into
 * `outDir`. It announces as soon as the torrent is added; it ignores loopback peers from
 * trackers, so it gets data only from a seeder that connects to it.
 */
export async function startTransmissionLeecher(torrent: string, outDir: string, workDir: string): Promise<TransmissionLeecher> {
  const [port, rpcPort] = [await freePort(), await freePort()];
  const cfg = join(workDir, 'transmission-leech');
  await mkdir(cfg, { recursive: true });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(cfg, 'settings.json'), JSON.stringify(transmissionSettings(port, rpcPort, outDir, undefined), null, 2));
  const proc = startProc('transmission-leech', 'transmission-daemon', ['-f', '-g', cfg, '--log-error']);
  const remote = (args: string[]): Promise<Proc> => run('transmission-remote', [`127.0.0.1:${rpcPort}`, ...args], 20_000);
  const rpcDeadline = Date.now() + 20_000;
  for (;;) {
    if (!proc.running) throw new Error(`transmission-daemon exited\n${proc.tail()}`);
    if (await remote(['-si']).then(() => true, () => false)) break;
    if (Date.now() > rpcDeadline) throw new Error(`transmission-daemon RPC not up within 20 s\n${proc.tail()}`);
    await sleep(100);
  }
  await remote(['-a', torrent, '-w', outDir]);
  return {
    proc,
    port,
    waitComplete: async (timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      let info = '';
      for (;;) {
        if (!proc.running) throw new Error(`transmission-daemon exited before completing\n${proc.tail()}`);
        info = (await remote(['-t', 'all', '-i'])).stdout;
        if (/Percent Done: 100%/.test(info)) break;
        if (Date.now() > deadline) throw new Error(`transmission did not complete within ${timeoutMs} ms:\n${info}\n${proc.tail()}`);
        await sleep(300);
      }
      await proc.stop();
    },
  };
}
