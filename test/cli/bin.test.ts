/**
 * `npx tessera` runs the package's bin file directly, so the build must leave it executable
 * with a node shebang (npm only sets the bit for installed dependencies, not for the package
 * being developed). The shebang starts Node with OpenSSL's legacy provider, for the RC4 of
 * encrypted connections (src/mse/rc4.ts), and no V8 flag (those would cost Node's built-ins
 * their code cache; the heap is bounded from inside, src/cli/heap.ts); `env -S` splits the
 * flags off.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/proc.js';
import { CLI_NODE_ARGS, shebangNodeArgs } from '../helpers/tessera.js';

const bin = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('the built CLI is executable and starts with a node shebang: the legacy provider, no V8 flag', async () => {
  const st = await stat(bin);
  assert.equal(st.mode & 0o111, 0o111, `mode ${(st.mode & 0o777).toString(8)} is not executable`);
  assert.deepEqual(shebangNodeArgs(await readFile(bin, 'utf8')), ['--openssl-legacy-provider']);
  assert.deepEqual(CLI_NODE_ARGS, ['--openssl-legacy-provider']);
});

test('a line that is not a node shebang is refused, not read as no flags', () => {
  assert.throws(() => shebangNodeArgs('#!/bin/sh\n'), /not a node shebang/);
  assert.throws(() => shebangNodeArgs('#!/usr/bin/env -S node --a; rm x\n'), /not a node shebang/);
  assert.deepEqual(shebangNodeArgs('#!/usr/bin/env -S node\n'), []);
});

test('Node accepts every flag of the shebang', async () => {
  const proc = await run(process.execPath, [...CLI_NODE_ARGS, '-e', 'process.stdout.write("ok")'], 30_000);
  assert.equal(proc.stdout, 'ok');
  assert.equal(proc.stderr, '');
});

test('the built CLI runs directly through its shebang', async () => {
  const proc = await run(bin, ['--version'], 30_000);
  assert.match(proc.stdout, /^tessera \d+\.\d+\.\d+/);
});
