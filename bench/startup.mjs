// Start-up of `tessera download` (run after `npm run build`, from the project folder):
//   node bench/startup.mjs [RUNS] [-- extra download arguments]
// Writes a one-piece torrent whose tracker is a closed port on 127.0.0.1, then runs
// `tessera download` on it RUNS times (default 16) with Node's flags from the CLI's shebang and
// `--no-dht --no-port-mapping` unless other arguments are given. A module loaded with --import
// notes the first outgoing TCP connection (the announce), prints the milliseconds since the
// process started and the process's CPU milliseconds until then, and ends the process.
// TESSERA_CLI_B=/path/main.js runs another build in alternation; medians and minima of each.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '../dist/src/bencode/index.js';
import { shebangNodeArgs } from '../dist/test/helpers/tessera.js';

const separator = process.argv.indexOf('--');
const runs = Number(process.argv[2] && process.argv[2] !== '--' ? process.argv[2] : 16);
const extra = separator < 0 ? ['--no-dht', '--no-port-mapping'] : process.argv.slice(separator + 1);
const dir = mkdtempSync(join(tmpdir(), 'tessera-startup-'));
const PROBE = `
import net from 'node:net';
import { performance } from 'node:perf_hooks';
const connect = net.Socket.prototype.connect;
let seen = false;
net.Socket.prototype.connect = function (...args) {
  if (!seen) {
    seen = true;
    const cpu = process.cpuUsage();
    process.stderr.write('startup-probe ' + performance.now().toFixed(0) + ' ' + ((cpu.user + cpu.system) / 1000).toFixed(0) + '\\n');
    process.exit(0);
  }
  return connect.apply(this, args);
};
`;
try {
  const data = Buffer.alloc(16384, 7);
  const torrent = encode({
    announce: 'http://127.0.0.1:9/announce',
    info: { length: data.length, name: 'startup.bin', 'piece length': 16384, pieces: createHash('sha1').update(data).digest() },
  });
  const file = join(dir, 'startup.torrent');
  writeFileSync(file, torrent);
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, PROBE);
  const builds = [process.env.TESSERA_CLI ?? join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js')];
  if (process.env.TESSERA_CLI_B !== undefined) builds.push(process.env.TESSERA_CLI_B);
  const results = builds.map(() => []);
  for (let r = 0; r < runs; r++) {
    builds.forEach((cli, b) => {
      const out = join(dir, `out-${b}-${r}`);
      const args = [...shebangNodeArgs(readFileSync(cli, 'utf8')), '--import', probe, cli, 'download', file, '-o', out, '--quiet', '--port', '0', ...extra];
      const res = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, XDG_STATE_HOME: dir, XDG_CACHE_HOME: dir } });
      const line = /startup-probe (\d+) (\d+)/.exec(res.stderr);
      if (line === null) throw new Error(`${cli}: no connection seen (exit ${res.status}): ${res.stderr}`);
      results[b].push({ wall: Number(line[1]), cpu: Number(line[2]) });
    });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  builds.forEach((cli, b) => {
    const wall = results[b].map((t) => t.wall);
    const cpu = results[b].map((t) => t.cpu);
    console.log(`${cli}: to the first connection, ${runs} runs: wall min ${Math.min(...wall)} ms, median ${median(wall)} ms; CPU min ${Math.min(...cpu)} ms, median ${median(cpu)} ms`);
  });
  console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
