// Start-up on a many-file torrent (run after `npm run build`, from the project folder):
//   node bench/many-files.mjs [FILES] [RUNS]         (TESSERA_CLI=/path/main.js: another build)
// Writes a torrent of FILES files (default 100,000) in 100 folders with the project's own encoder,
// then runs `tessera info` on it RUNS times (default 5) under /usr/bin/time, with Node's flags
// from the CLI's shebang, and prints wall seconds, user+sys CPU seconds, peak RSS and minor page
// faults per run; then Node's own floor (`node -e 0`) as many times, the minima of both, and
// what a page's first touch costs on this machine (a fresh 64 MiB buffer filled, then refilled):
// on some virtual machines a fault costs over 10 us, and `info` takes about 10,000 more page
// faults than the floor.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '../dist/src/bencode/index.js';
import { shebangNodeArgs } from '../dist/test/helpers/tessera.js';

const count = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'tessera-many-'));
try {
  const pieceLength = 262_144;
  const files = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const length = 1000 + ((i * 7919) % 50_000);
    total += length;
    files.push({ length, path: [`folder-${String(i % 100).padStart(3, '0')}`, `file-${String(i).padStart(6, '0')}.bin`] });
  }
  const pieceCount = Math.ceil(total / pieceLength);
  const pieces = Buffer.alloc(pieceCount * 20);
  for (let p = 0; p < pieceCount; p++) createHash('sha1').update(String(p)).digest().copy(pieces, p * 20);
  const torrent = encode({ announce: 'http://127.0.0.1:6969/announce', info: { files, name: 'many', 'piece length': pieceLength, pieces } });
  const file = join(dir, 'many.torrent');
  writeFileSync(file, torrent);
  console.log(`${count} files, ${torrent.length} bytes of .torrent, ${pieceCount} pieces`);
  const cli = process.env.TESSERA_CLI ?? join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');
  const timed = (args) => {
    const timeFile = join(dir, 'time.txt');
    const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M %R', '-o', timeFile, process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (res.status !== 0) throw new Error(`${args.join(' ')} failed: ${res.stderr}`);
    const [wall, user, sys, rssKb, faults] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
    return { wall, cpu: user + sys, rssMiB: Math.round(rssKb / 1024), faults };
  };
  // Node's flags from the CLI's shebang, as the command runs (the test helpers read them so too).
  const nodeArgs = shebangNodeArgs(readFileSync(cli, 'utf8'));
  const info = [];
  for (let r = 0; r < runs; r++) {
    const t = timed([...nodeArgs, cli, 'info', file]);
    info.push(t);
    console.log(`run ${r + 1}: wall ${t.wall.toFixed(2)} s, cpu ${t.cpu.toFixed(2)} s, peak RSS ${t.rssMiB} MiB, ${t.faults} page faults`);
  }
  const floor = Array.from({ length: runs }, () => timed(['-e', '0']));
  const min = (list, key) => Math.min(...list.map((t) => t[key])).toFixed(2);
  console.log(`node -e 0: wall min ${min(floor, 'wall')} s, cpu min ${min(floor, 'cpu')} s, peak RSS ${floor[0].rssMiB} MiB, ${floor[0].faults} page faults`);
  console.log(`info: wall min ${min(info, 'wall')} s, cpu min ${min(info, 'cpu')} s`);
  const touch = Buffer.allocUnsafeSlow(64 << 20);
  let t0 = performance.now();
  touch.fill(1);
  const fresh = performance.now() - t0;
  t0 = performance.now();
  touch.fill(2);
  const again = performance.now() - t0;
  console.log(`64 MiB filled fresh ${fresh.toFixed(0)} ms (${((fresh * 1000) / 16384).toFixed(1)} us per 4 KiB page), again ${again.toFixed(1)} ms`);
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim();
  console.log(`load average: ${load}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
