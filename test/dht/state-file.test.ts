import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DhtError } from '../../src/dht/errors.js';
import { loadState, parseState, saveState, serializeState } from '../../src/dht/state-file.js';

const ID = new Uint8Array(20).fill(0xab);

describe('state file', () => {
  it('round-trips through a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-dht-'));
    try {
      const path = join(dir, 'dht.json');
      assert.equal(await loadState(path), undefined);
      const nodes = [{ id: new Uint8Array(20).fill(1), host: '127.0.0.1', port: 6881 }];
      await saveState(path, { id: ID, nodes });
      assert.deepEqual(await loadState(path), { id: ID, nodes });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('skips invalid node entries and rejects invalid files', () => {
    const text = JSON.stringify({
      version: 1,
      id: 'ab'.repeat(20),
      nodes: [
        { id: '01'.repeat(20), host: '127.0.0.1', port: 0 },
        { id: '01'.repeat(19), host: '127.0.0.1', port: 1 },
        { id: '01'.repeat(20), host: 'example.com', port: 1 },
        null,
        { id: '02'.repeat(20), host: '127.0.0.1', port: 2 },
      ],
    });
    assert.deepEqual(
      parseState(text).nodes.map((n) => n.port),
      [2],
    );
    for (const bad of ['{', '[]', '{"version":2}', JSON.stringify({ version: 1, id: 'zz', nodes: [] })]) {
      assert.throws(() => parseState(bad), DhtError);
    }
  });

  it('refuses an oversized file before parsing it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-dht-'));
    try {
      const path = join(dir, 'big.json');
      await writeFile(path, serializeState({ id: ID, nodes: [] }).padEnd(2 * 1024 * 1024, ' '));
      await assert.rejects(loadState(path), (e: unknown) => e instanceof DhtError && e.code === 'bad-state-file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
