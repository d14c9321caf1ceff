/**
 * The CLI loads its commands with `require` where Node can, and with `import()` where `require`
 * refuses an ES module (src/cli/load-module.ts): either way the caller gets the one namespace
 * Node keeps for the module, and a module's own error is not mistaken for a refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadModule, type Requirer } from '../../src/cli/load-module.js';

const bencode = new URL('../../src/bencode/index.js', import.meta.url);
type Bencode = typeof import('../../src/bencode/index.js');

/** A requirer that refuses as Node does, with `code`. */
const refusing =
  (code: string): Requirer =>
  () => {
    throw Object.assign(new Error(`refused (${code})`), { code });
  };

function withModule(source: string, fn: (url: URL) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-load-'));
  const file = join(dir, 'mod.mjs');
  writeFileSync(file, source);
  return fn(pathToFileURL(file)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a module loaded through require is the namespace import() gives', async () => {
  const realRequire = createRequire(import.meta.url);
  const required: unknown[] = [];
  const ns = await loadModule<Bencode>(bencode, (path) => {
    assert.equal(path, fileURLToPath(bencode));
    const got = realRequire(path);
    required.push(got);
    return got;
  });
  // Where Node loads ES modules through require (20.19 and later), that is the path taken.
  const canRequire = (process.features as { require_module?: boolean }).require_module === true;
  assert.deepEqual(required, canRequire ? [ns] : []);
  assert.equal(ns, await import(bencode.href));
  assert.deepEqual(Buffer.from(ns.encode({ a: 1 })), Buffer.from('d1:ai1ee'));
});

test('where require refuses an ES module, import() loads it', async () => {
  for (const code of ['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE']) {
    assert.equal(await loadModule<Bencode>(bencode, refusing(code)), await import(bencode.href), code);
  }
});

test('a module that awaits at its top level is loaded through import()', async () => {
  await withModule('await Promise.resolve();\nexport const answer = 42;\n', async (url) => {
    const ns = await loadModule<{ answer: number }>(url);
    assert.equal(ns.answer, 42);
  });
});

test("a module's own error, or any other failure of require, is not taken for a refusal", async () => {
  await withModule("throw Object.assign(new Error('broken at load'), { code: 'EBROKEN' });\n", async (url) => {
    await assert.rejects(loadModule(url), { message: 'broken at load', code: 'EBROKEN' });
  });
  await assert.rejects(loadModule(bencode, refusing('EACCES')), { code: 'EACCES' });
  const thrown = (): never => {
    throw null;
  };
  await assert.rejects(loadModule(bencode, thrown), (err: unknown) => err === null);
});
