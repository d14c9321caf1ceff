/**
 * Ctrl-C is an interruption (exit 130), whatever the command was doing: not the disk error or
 * abort error the cancelled work surfaces as.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { runTorrent } from '../../src/cli/commands/download.js';
import { ExitCode, type CliContext } from '../../src/cli/context.js';
import { createTorrent, parseTorrent } from '../../src/metainfo/index.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-interrupt-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('an interrupted check of existing data exits 130 with the resume hint', async () => {
  await writeFile(join(dir, 'data.bin'), Buffer.alloc(3 << 20, 7));
  const meta = parseTorrent(await createTorrent(join(dir, 'data.bin'), { pieceLength: 1 << 20 }));
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(`out:${c.toString()}`));
  err.on('data', (c: Buffer) => chunks.push(`err:${c.toString()}`));
  const ctx: CliContext = { stdout: out, stderr: err, verbose: false, signal: AbortSignal.abort() };
  const code = await runTorrent(meta, ctx, { outputDir: dir, peers: [], quiet: true, noPeerTimeoutS: 5, seed: false, host: '127.0.0.1', port: 0 });
  assert.equal(code, ExitCode.interrupted);
  const text = chunks.join('');
  assert.match(text, /err:tessera: interrupted: verified pieces are kept; run the same command again to resume/);
  assert.doesNotMatch(text, /aborted|disk error/);
});

test('Ctrl-C while create hashes exits 130 with one line and writes no torrent', { timeout: 60_000 }, async () => {
  const input = join(dir, 'sparse.bin');
  // 4 GiB of holes: nothing on disk, but seconds of hashing, so the signal lands mid-way.
  const fh = await open(input, 'w');
  await fh.truncate(4 * 1024 ** 3);
  await fh.close();
  const target = join(dir, 'sparse.torrent');
  const child = spawn(process.execPath, [cli, 'create', input, '-o', target], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Signal once it is hashing (it holds the input open), however slow its start under load.
  for (let i = 0; i < 400 && !(await holdsOpen(child.pid!, input)); i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, ExitCode.interrupted, stderr);
  assert.equal(stderr, 'tessera: interrupted\n');
  await assert.rejects(stat(target), /ENOENT/);
});

/** Whether process `pid` has `file` open (Linux: its /proc/<pid>/fd links). */
async function holdsOpen(pid: number, file: string): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === file) return true;
  return false;
}
