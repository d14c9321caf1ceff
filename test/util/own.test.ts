import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownEntry } from '../../src/util/own.js';

test('ownEntry finds own entries only, never what every object inherits', () => {
  const table: Record<string, number> = { download: 1, seed: 2 };
  assert.equal(ownEntry(table, 'seed'), 2);
  assert.equal(ownEntry(table, 'bogus'), undefined);
  for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) assert.equal(ownEntry(table, name), undefined, name);
});
