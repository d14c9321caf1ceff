// Load figures for `tessera daemon` (run after `npm run build`, from the project folder):
//   node bench/daemon-load.mjs idle [N] [running]
//                                        N idle torrents (default 1000, added paused; with `running`, started, with
//                                        nothing to fetch from): RSS, idle CPU, torrent-get latency
//   node bench/daemon-load.mjs busy [N]   N torrents (default 10, 16 MiB each) downloading at once from one
//                                        libtorrent seeder on 127.0.0.1: CPU seconds, wall time, peak RSS
// Everything stays on 127.0.0.1; every process started here is stopped by its PID.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { encode } from '../dist/src/bencode/index.js';

const mode = process.argv[2] ?? 'idle';
const count = Number(process.argv[3] ?? (mode === 'idle' ? 1000 : 10));
const root = mkdtempSync(join(tmpdir(), 'tessera-daemon-bench-'));
const children = [];
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const tick = 100;
const running = process.argv[4] === 'running';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { child, waitFor: (re, ms) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${out.slice(-2000)}`)), ms);
    const check = () => { if (re.test(out)) { clearTimeout(t); resolve(); } else setTimeout(check, 50); };
    check();
  }) };
}

/** user+sys CPU seconds and RSS (MiB) of a process, from /proc. */
function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / tick;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  return { cpu, rss, hwm };
}

let sessionId = '';
async function rpc(port, method, args = {}) {
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/transmission/rpc`, {
      method: 'POST', headers: { 'X-Transmission-Session-Id': sessionId, 'Content-Type': 'application/json' },
      body: JSON.stringify({ method, arguments: args }),
    });
    if (res.status === 409) { sessionId = res.headers.get('x-transmission-session-id'); await res.arrayBuffer(); continue; }
    const json = await res.json();
    if (json.result !== 'success') throw new Error(`${method}: ${json.result}`);
    return json.arguments;
  }
  throw new Error('no session id');
}

async function startDaemon() {
  const rpcPort = await freePort();
  const d = start(process.execPath, ['dist/src/cli/main.js', 'daemon', '--config-dir', join(root, 'config'), '--download-dir', join(root, 'dl'),
    '--rpc-port', String(rpcPort), '--port', '0', '--no-dht', '--max-peers-per-ip', '50']);
  await d.waitFor(/listening on/, 60_000);
  return { ...d, rpcPort };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const LIST_FIELDS = ['error', 'errorString', 'eta', 'id', 'isFinished', 'leftUntilDone', 'name', 'peersGettingFromUs', 'peersSendingToUs', 'rateDownload', 'rateUpload', 'sizeWhenDone', 'status', 'uploadRatio'];

async function idle() {
  const d = await startDaemon();
  const pid = d.child.pid;
  const base = usage(pid);
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    // A small synthetic torrent (4 pieces, no tracker): it checks nothing on disk and then idles.
    const info = { name: `idle-${i}.bin`, 'piece length': 16384, length: 4 * 16384, pieces: randomBytes(80) };
    await rpc(d.rpcPort, 'torrent-add', { metainfo: encode({ info }).toString('base64'), paused: !running });
  }
  const addSeconds = (Date.now() - t0) / 1000;
  await sleep(10_000);
  const settled = usage(pid);
  await sleep(10_000);
  const later = usage(pid);
  const lat = async (fields) => {
    const ms = [];
    let bytes = 0;
    const cpu0 = usage(pid).cpu;
    for (let i = 0; i < 20; i++) {
      const s = process.hrtime.bigint();
      const res = await fetch(`http://127.0.0.1:${d.rpcPort}/transmission/rpc`, { method: 'POST', headers: { 'X-Transmission-Session-Id': sessionId }, body: JSON.stringify({ method: 'torrent-get', arguments: { fields } }) });
      bytes = (await res.arrayBuffer()).byteLength;
      ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    // CPU time the daemon spent per call: unlike the wall time, it hardly depends on the machine's load.
    const cpuMs = ((usage(pid).cpu - cpu0) / ms.length) * 1000;
    return { median: pct(ms, 0.5).toFixed(1), p90: pct(ms, 0.9).toFixed(1), daemonCpuMsPerCall: cpuMs.toFixed(1), bytes };
  };
  const list = await lat(LIST_FIELDS);
  const many = await lat([...LIST_FIELDS, 'files', 'fileStats', 'peers', 'trackerStats', 'hashString', 'downloadDir', 'totalSize', 'percentDone', 'addedDate', 'magnetLink']);
  const torrents = (await rpc(d.rpcPort, 'torrent-get', { fields: ['id'] })).torrents.length;
  console.log(JSON.stringify({
    torrents, running, addSeconds: addSeconds.toFixed(1),
    rssMiBAtStart: base.rss.toFixed(0), rssMiBIdle: later.rss.toFixed(0), peakRssMiB: later.hwm.toFixed(0),
    idleCpuPercent: (((later.cpu - settled.cpu) / 10) * 100).toFixed(1),
    torrentGetListFieldsMs: list, torrentGetManyFieldsMs: many,
  }, null, 1));
}

async function busy() {
  const MiB = 1024 * 1024;
  const size = 16 * MiB;
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  const torrents = [];
  for (let i = 0; i < count; i++) {
    const name = `busy-${i}.bin`;
    const bytes = randomBytes(size);
    writeFileSync(join(data, name), bytes);
    const pieceLength = 256 * 1024;
    const pieces = Buffer.concat(Array.from({ length: size / pieceLength }, (_, p) => createHash('sha1').update(bytes.subarray(p * pieceLength, (p + 1) * pieceLength)).digest()));
    const info = { name, 'piece length': pieceLength, length: size, pieces };
    const file = join(root, `${name}.torrent`);
    writeFileSync(file, encode({ info }));
    torrents.push({ file, hash: createHash('sha1').update(encode(info)).digest('hex'), name });
  }
  const seedPort = await freePort();
  const seed = start('/usr/bin/python3', ['test/helpers/lt-seed.py', '--port', String(seedPort), '--save', data, '--parent-pid', String(process.pid), ...torrents.map((t) => t.file)]);
  await seed.waitFor(/^ready/m, 300_000);
  const d = await startDaemon();
  const pid = d.child.pid;
  const before = usage(pid);
  const t0 = Date.now();
  for (const t of torrents) await rpc(d.rpcPort, 'torrent-add', { filename: `magnet:?xt=urn:btih:${t.hash}&x.pe=127.0.0.1:${seedPort}` });
  for (;;) {
    const list = (await rpc(d.rpcPort, 'torrent-get', { fields: ['leftUntilDone', 'sizeWhenDone'] })).torrents;
    if (list.length === count && list.every((x) => x.sizeWhenDone > 0 && x.leftUntilDone === 0)) break;
    if (Date.now() - t0 > 900_000) throw new Error('not done in 15 min');
    await sleep(250);
  }
  const wall = (Date.now() - t0) / 1000;
  const after = usage(pid);
  for (const t of torrents) {
    if (!readFileSync(join(root, 'dl', t.name)).equals(readFileSync(join(data, t.name)))) throw new Error(`${t.name} differs`);
  }
  const seedUsage = usage(seed.child.pid);
  console.log(JSON.stringify({
    torrents: count, totalMiB: (count * size) / MiB, wallSeconds: wall.toFixed(1),
    daemonCpuSeconds: (after.cpu - before.cpu).toFixed(2), daemonCpuPercentOfOneCore: (((after.cpu - before.cpu) / wall) * 100).toFixed(0),
    cpuSecondsPerGiB: ((after.cpu - before.cpu) / ((count * size) / 1024 ** 3)).toFixed(2), peakRssMiB: after.hwm.toFixed(0),
    seederCpuSeconds: seedUsage.cpu.toFixed(2), byteIdentical: true,
  }, null, 1));
}

try {
  await (mode === 'busy' ? busy() : idle());
} finally {
  for (const c of children) { try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ } }
  await sleep(500);
  for (const c of children) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
  rmSync(root, { recursive: true, force: true });
}
