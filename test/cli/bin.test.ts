/**
 * `npx tessera` runs the package's bin file directly, so the build must leave it executable
 * with a node shebang (npm only sets the bit for installed dependencies, not for the package
 * being developed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('the built CLI is executable and starts with a node shebang', async () => {
  const st = await stat(bin);
  assert.equal(st.mode & 0o111, 0o111, `mode ${(st.mode & 0o777).toString(8)} is not executable`);
  assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
