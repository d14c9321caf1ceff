/**
 * Ctrl-C while `download` checks the data already on disk: the check is aborted, and that is
 * an interruption (exit 130, the resume hint), not a disk error. The signal is aborted before
 * the run starts, so the check is always under way when it sees it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runTorrent } from '../../src/cli/commands/download.js';
import { ExitCode, type CliContext } from '../../src/cli/context.js';
import { createTorrent, parseTorrent } from '../../src/metainfo/index.js';

let dir = '';
after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('an interrupted check of existing data exits 130 with the resume hint', async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-interrupt-'));
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
