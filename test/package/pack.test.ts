/**
 * The published package works as a library: `npm pack` the project, install the tarball into
 * an empty project (offline: it has no runtime dependencies), then run an ES module that
 * imports `tessera` and downloads a torrent between two sessions on loopback, and type-check
 * a TypeScript file against the package's own .d.ts (and one with a type error, which must
 * fail: the types are real, not `any`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { run, startProc, stopAll } from '../helpers/proc.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let dir = '';
let project = '';

const USE_ESM = `
import { Session, createTorrent, parseTorrent, SessionError, TesseraError } from 'tessera';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const dir = process.argv[2];
await mkdir(join(dir, 'seed'), { recursive: true });
const data = Buffer.alloc(300_000);
for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
await writeFile(join(dir, 'seed', 'hello.bin'), data);
const meta = parseTorrent(await createTorrent(join(dir, 'seed', 'hello.bin'), { pieceLength: 32768 }));

const seeder = new Session({ host: '127.0.0.1', port: 0, dht: false });
const leecher = new Session({ host: '127.0.0.1', port: 0, dht: false });
try {
  const seed = await seeder.add(meta, { path: join(dir, 'seed'), trackers: false });
  await seed.whenReady();
  const handle = await leecher.add(meta, { path: join(dir, 'out'), trackers: false, peers: [{ host: '127.0.0.1', port: seeder.port }] });
  let snapshots = 0;
  for await (const p of handle.progress()) snapshots++;
  await handle.whenDone();
  const same = Buffer.compare(await readFile(join(dir, 'out', 'hello.bin')), data) === 0;
  console.log(JSON.stringify({ state: handle.state, same, snapshots, files: handle.files(), isTyped: new SessionError('stopped', 'x') instanceof TesseraError }));
} finally {
  await leecher.close();
  await seeder.close();
}
`;

const USE_TS = `
import { Session, SessionError, type TorrentHandle, type TorrentProgress, type SessionErrorCode } from 'tessera';

async function main(): Promise<void> {
  const session = new Session({ dht: false, port: 0, host: '127.0.0.1' });
  const ac = new AbortController();
  const handle: TorrentHandle = await session.add('0123456789abcdef0123456789abcdef01234567', { path: '.', paused: true, signal: ac.signal });
  handle.on('progress', (p: TorrentProgress) => console.log(p.fraction, p.downRate, p.peers));
  handle.on('peer-connect', (peer, info) => console.log(peer.host, peer.port, info.outgoing));
  handle.on('error', (err: Error) => console.log(err.message));
  const port: number = session.port;
  try {
    await handle.whenDone();
  } catch (err) {
    if (err instanceof SessionError) {
      const code: SessionErrorCode = err.code;
      console.log(code, port);
    }
  }
  await session.close();
}
void main();
`;

const WRONG_TS = `
import { Session } from 'tessera';
const session = new Session({ dht: false });
const port: string = session.port;
console.log(port);
`;

describe('the packed package', { timeout: 900_000 }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-pack-'));
    project = join(dir, 'project');
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], 120_000, { cwd: root });
    const [info] = JSON.parse(packed.stdout) as { filename: string }[];
    await run('mkdir', ['-p', project], 10_000);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'uses-tessera', version: '1.0.0', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, info!.filename)], 120_000, { cwd: project });
  });
  after(async () => {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  test('an ES module imports it and downloads between two sessions', async () => {
    await writeFile(join(project, 'use.mjs'), USE_ESM);
    const proc = startProc('use.mjs', process.execPath, ['use.mjs', join(dir, 'work')], { cwd: project });
    const exit = await proc.waitForExit(120_000);
    assert.equal(exit.code, 0, proc.tail());
    const result = JSON.parse(proc.stdout.trim().split('\n').at(-1)!) as { state: string; same: boolean; snapshots: number; files: { path: string; verifiedBytes: number }[]; isTyped: boolean };
    assert.equal(result.same, true);
    assert.equal(result.state, 'seeding');
    assert.ok(result.snapshots >= 1);
    assert.deepEqual(result.files, [{ path: 'hello.bin', length: 300_000, offset: 0, verifiedBytes: 300_000, priority: 'normal' }]);
    assert.equal(result.isTyped, true);
  });

  test('the installed `tessera daemon` serves its web interface (the files ship in the package)', async () => {
    const rpcPort = await freePort();
    const cli = join(project, 'node_modules', 'tessera', 'dist', 'src', 'cli', 'main.js');
    const args = [cli, 'daemon', '--config-dir', join(dir, 'daemon-config'), '--download-dir', join(dir, 'daemon-downloads'), '--rpc-port', String(rpcPort), '--port', '0', '--no-dht'];
    const daemon = startProc('packed daemon', process.execPath, args, { cwd: project });
    try {
      await daemon.waitForLine(/listening on/, 60_000);
      for (const [path, type] of [['/', /text\/html/], ['/app.js', /javascript/], ['/style.css', /text\/css/]] as const) {
        const res = await fetch(`http://127.0.0.1:${rpcPort}${path}`);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get('content-type') ?? '', type);
        assert.ok((await res.text()).length > 100, path);
      }
    } finally {
      await daemon.stop();
    }
  });

  test('TypeScript resolves its types through the exports map', async () => {
    await writeFile(join(project, 'use.ts'), USE_TS);
    await writeFile(join(project, 'wrong.ts'), WRONG_TS);
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node'];
    await run(process.execPath, [tsc, ...flags, 'use.ts'], 360_000, { cwd: project });
    const wrong = startProc('tsc wrong.ts', process.execPath, [tsc, ...flags, 'wrong.ts'], { cwd: project });
    const exit = await wrong.waitForExit(360_000);
    assert.notEqual(exit.code, 0);
    assert.match(wrong.stdout, /wrong\.ts\(4,7\): error TS2322: Type 'number' is not assignable to type 'string'/);
    assert.ok((await readFile(join(project, 'node_modules', 'tessera', 'dist', 'src', 'index.d.ts'), 'utf8')).includes('Session'));
  });
});
