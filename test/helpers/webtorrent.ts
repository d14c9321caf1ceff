/**
 * webtorrent-cli (npm) as a real leecher. Installing it takes about a minute, so it is
 * installed once into a cache folder under the OS temp dir and reused by later runs, patched
 * by the benchmarks' own `bench/lib/patch-webtorrent.sh` to run offline on loopback (WebRTC
 * stubbed; DHT, LSD, PEX, UPnP, NAT-PMP and uTP off). Encryption stays at webtorrent's
 * default, which opens every connection with MSE.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.js';

const VERSION = '6.0.1';
const INSTALL_TIMEOUT_MS = 600_000;

function patchScript(): string {
  const candidates = [join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'lib', 'patch-webtorrent.sh'), resolve('bench/lib/patch-webtorrent.sh')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`patch-webtorrent.sh not found (looked at ${candidates.join(', ')}); run tests from the repository root`);
  return found;
}

/** The path of webtorrent-cli's `cmd.js`, installed and patched on first use. */
export async function webtorrentCli(): Promise<string> {
  const dir = join(tmpdir(), `tessera-webtorrent-cli-${VERSION}`);
  const cmd = join(dir, 'node_modules', 'webtorrent-cli', 'bin', 'cmd.js');
  if (existsSync(join(dir, '.ready'))) return cmd;
  // Install into a fresh folder and rename it into place: a run never sees half an install.
  const staging = await mkdtemp(join(tmpdir(), 'tessera-webtorrent-cli-staging-'));
  try {
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', staging, `webtorrent-cli@${VERSION}`], INSTALL_TIMEOUT_MS);
    await run('bash', [patchScript(), staging], 60_000);
    await writeFile(join(staging, '.ready'), `${VERSION}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return cmd;
}
