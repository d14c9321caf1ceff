/**
 * `download --json --max-down --on-done` against a real libtorrent seeder: standard output is
 * JSON lines only (parsed line by line, with the events and fields the README lists), the
 * limit holds (a run can be slower under load, never faster, so only the lower bound on its
 * duration is checked), the hook gets the output path, and the content is byte-identical.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeRandomFile } from '../helpers/data.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { startLibtorrentSeeder, type Seeder } from '../helpers/seeders.js';
import { cliPath } from '../helpers/tessera.js';
import { makeTorrent, type TorrentMeta } from '../helpers/torrents.js';

const MiB = 1024 * 1024;
const RATE = 2 * MiB;

describe('download --json with a rate limit and --on-done', { timeout: 300_000 }, () => {
  let root = '';
  let meta: TorrentMeta;
  let seeder: Seeder;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-json-'));
    await writeRandomFile(join(root, 'data', 'payload.bin'), 8 * MiB + 1234, 'json');
    meta = await makeTorrent({ source: join(root, 'data', 'payload.bin'), out: join(root, 'p.torrent'), pieceLengthLog2: 17 });
    seeder = await startLibtorrentSeeder({ torrents: [meta], dataDir: join(root, 'data'), workDir: join(root, 'seeder') });
  });

  after(async () => {
    await stopAll();
    await rm(root, { recursive: true, force: true });
  });

  test('JSON lines, the limit, the hook, the bytes', async () => {
    const out = join(root, 'out');
    const hookFile = join(root, 'hook.txt');
    const started = Date.now();
    const proc = startProc('tessera-json', process.execPath, [
      cliPath, 'download', meta.torrentPath, '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--no-dht', '--port', String(await freePort()),
      '--json', '--max-down', '2M', '--on-done', `printf '%s' > '${hookFile}'`,
    ]);
    const exit = await proc.waitForExit(240_000);
    const elapsed = (Date.now() - started) / 1000;
    assert.equal(exit.code, 0, proc.tail());
    const lines = proc.stdout.split('\n').filter((l) => l !== '');
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of events) {
      assert.equal(typeof e.event, 'string');
      assert.match(String(e.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(e.infoHash, meta.infoHash.toString('hex'));
    }
    const names = events.map((e) => e.event);
    assert.equal(names[0], 'started');
    assert.equal(names[1], 'metadata');
    assert.equal(names.at(-1), 'done');
    assert.ok(names.filter((n) => n === 'progress').length >= 2, names.join(','));
    const md = events[1]!;
    assert.deepEqual(md.files, [{ index: 0, path: 'payload.bin', length: meta.totalLength }]);
    const progress = events.filter((e) => e.event === 'progress');
    for (const p of progress) {
      for (const k of ['fraction', 'verifiedBytes', 'totalBytes', 'downloaded', 'uploaded', 'downRate', 'upRate', 'peers', 'knownPeers']) assert.equal(typeof p[k], 'number', k);
      assert.ok(p.eta === null || typeof p.eta === 'number');
      assert.ok((p.downRate as number) <= RATE * 1.5 + 256 * 1024, `rate ${String(p.downRate)} under the cap`);
    }
    const done = events.at(-1)!;
    assert.equal(done.output, join(out, 'payload.bin'));
    assert.equal(done.totalBytes, meta.totalLength);
    // The cap can only make a run longer: size / rate, less the burst and one socket read.
    const floor = (meta.totalLength - 2 * MiB) / RATE;
    assert.ok(elapsed >= floor, `took ${elapsed.toFixed(1)} s for ${meta.totalLength} bytes at ${RATE} B/s (floor ${floor.toFixed(1)} s)`);
    assert.equal(await readFile(hookFile, 'utf8'), join(out, 'payload.bin'));
    assert.ok((await readFile(join(out, 'payload.bin'))).equals(await readFile(join(root, 'data', 'payload.bin'))));
  });
});
