/**
 * `tessera demo`: one command runs a tracker, seeders and a download on loopback, verifies the
 * copy, prints a summary and leaves no temp folder behind (unless --keep); Ctrl-C stops it with
 * exit 130 and still cleans up. Each run gets its own TMPDIR so leftovers are visible.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareTrees } from '../helpers/data.js';
import { startProc, stopAll, type Proc } from '../helpers/proc.js';
import { cliPath } from '../helpers/tessera.js';

let base = '';
let runs = 0;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'tessera-cli-demo-'));
});

after(async () => {
  await stopAll();
  if (base !== '') await rm(base, { recursive: true, force: true });
});

/** A fresh, empty TMPDIR for one demo run. */
async function freshTmp(): Promise<string> {
  const dir = join(base, `run-${++runs}`);
  await mkdir(dir);
  return dir;
}

function startDemo(args: string[], tmp: string): Proc {
  return startProc('tessera-demo', process.execPath, [cliPath, 'demo', ...args], { env: { ...process.env, TMPDIR: tmp }, graceMs: 15_000 });
}

const SUMMARY =
  /^demo: 16\.0 MiB in 4 files downloaded and verified byte for byte in [\d.]+ s \([\d.]+ [KMG]?i?B\/s\); (\d+) of (\d+) seeder peers served data/m;

describe('tessera demo', { timeout: 300_000 }, () => {
  test('--size 16: exit 0, a summary, seeders serve, no temp folder left', async () => {
    const tmp = await freshTmp();
    const proc = startDemo(['--size', '16'], tmp);
    const exit = await proc.waitForExit(120_000);
    assert.equal(exit.code, 0, `demo exits 0\n${proc.tail()}`);
    const m = SUMMARY.exec(proc.stdout);
    assert.ok(m !== null, `summary line on stdout:\n${proc.tail()}`);
    assert.equal(m[2], '3', 'three seeders by default');
    assert.ok(Number(m[1]) >= 1, `at least one seeder served data: ${m[0]}`);
    assert.match(proc.stdout, /^complete: tessera-demo 16\.0 MiB verified/m, 'the download went through the download command path');
    assert.match(proc.stderr, /listening on port \d+/, 'the progress output of a download is on stderr');
    assert.deepEqual(await readdir(tmp), [], 'the temp folders are removed');
  });

  test('--keep --seeders 2: the kept copy equals the source byte for byte', async () => {
    const tmp = await freshTmp();
    const proc = startDemo(['--size', '16', '--seeders', '2', '--keep'], tmp);
    const exit = await proc.waitForExit(120_000);
    assert.equal(exit.code, 0, `demo exits 0\n${proc.tail()}`);
    const m = SUMMARY.exec(proc.stdout);
    assert.ok(m !== null, `summary line on stdout:\n${proc.tail()}`);
    assert.equal(m[2], '2', 'two seeders as asked');
    const kept = await readdir(tmp);
    assert.equal(kept.length, 1, `one kept folder in ${tmp}: ${kept.join(', ')}`);
    const root = join(tmp, kept[0] ?? '');
    assert.match(proc.stderr, new RegExp(`kept ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'the kept folder is named');
    await compareTrees(join(root, 'seed', 'tessera-demo'), join(root, 'download', 'tessera-demo'));
  });

  test('bad options: exit 2', async () => {
    const tmp = await freshTmp();
    for (const args of [['--seeders', '0'], ['--size', 'big'], ['--nope']]) {
      const proc = startDemo(args, tmp);
      const exit = await proc.waitForExit(30_000);
      assert.equal(exit.code, 2, `demo ${args.join(' ')} is a usage error\n${proc.tail()}`);
    }
    assert.deepEqual(await readdir(tmp), [], 'a usage error creates nothing');
  });

  test('Ctrl-C once the seeders run: exit 130 and the temp folders are removed', async () => {
    const tmp = await freshTmp();
    const proc = startDemo(['--size', '256'], tmp);
    await proc.waitForLine(/seeder\(s\) on ports/, 60_000);
    proc.signal('SIGINT');
    const exit = await proc.waitForExit(30_000);
    assert.equal(exit.code, 130, `Ctrl-C exits 130\n${proc.tail()}`);
    assert.doesNotMatch(proc.stdout, /^demo: .* verified byte for byte/m, 'an interrupted demo prints no success summary');
    assert.deepEqual(await readdir(tmp), [], 'the temp folders are removed');
  });
});
