import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from '../../src/storage/safe-fs.js';

let dir = '';
after(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

test('creates missing parents one level at a time, and accepts an existing folder', async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-mkdir-'));
  const deep = join(dir, 'a', 'b', 'c');
  await makeDirectory(deep);
  assert.ok((await stat(deep)).isDirectory());
  await makeDirectory(deep);
});

test('a file in the way is an error, not a folder', async () => {
  const file = join(dir, 'file');
  await writeFile(file, 'x');
  await assert.rejects(makeDirectory(file), /is not a folder/);
  await assert.rejects(makeDirectory(join(file, 'sub')), /ENOTDIR/);
});

test('a place where folders cannot be made fails instead of looping (Node 20 recursive mkdir never returns there)', { timeout: 10_000 }, async () => {
  await assert.rejects(makeDirectory('/proc/tessera-cannot-exist/x'), /ENOENT/);
});
