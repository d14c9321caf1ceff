/**
 * `npx tessera` runs the package's bin file directly, so the build must leave it executable
 * with a node shebang (npm only sets the bit for installed dependencies, not for the package
 * being developed). The shebang starts Node with OpenSSL's legacy provider, for the RC4 of
 * encrypted connections (src/mse/rc4.ts); `env -S` splits the flag off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/proc.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('the built CLI is executable and starts with a node shebang that enables the legacy provider', async () => {
  const st = await stat(bin);
  assert.equal(st.mode & 0o111, 0o111, `mode ${(st.mode & 0o777).toString(8)} is not executable`);
  assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env -S node --openssl-legacy-provider\n/);
});

test('the built CLI runs directly through its shebang', async () => {
  const proc = await run(bin, ['--version'], 30_000);
  assert.match(proc.stdout, /^tessera \d+\.\d+\.\d+/);
});
