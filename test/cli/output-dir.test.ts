/** The output folder check that runs before any network work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CliError } from '../../src/cli/context.js';
import { ensureWritableFolder } from '../../src/cli/output-dir.js';

test('creates a missing folder, refuses a file, reports an unwritable folder', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-outdir-'));
  try {
    const fresh = path.join(dir, 'a', 'b');
    await ensureWritableFolder(fresh);
    assert.ok((await stat(fresh)).isDirectory());
    const file = path.join(dir, 'file');
    await writeFile(file, 'x');
    await assert.rejects(ensureWritableFolder(file), (e: unknown) => e instanceof CliError && e.exitCode === 2 && /-o names a file/.test(e.message));
    await assert.rejects(ensureWritableFolder(path.join(file, 'below')), (e: unknown) => e instanceof CliError && e.exitCode === 4);
    await assert.rejects(ensureWritableFolder('/proc/tessera-cannot-be-here'), (e: unknown) => e instanceof CliError && e.exitCode === 4);
    if (process.getuid?.() !== 0) {
      const ro = path.join(dir, 'ro');
      await ensureWritableFolder(ro);
      await chmod(ro, 0o500);
      await assert.rejects(ensureWritableFolder(ro), (e: unknown) => e instanceof CliError && e.exitCode === 4 && /EACCES/.test(e.message));
      await chmod(ro, 0o700);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
