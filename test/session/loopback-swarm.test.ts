/**
 * Whole swarms in one process on 127.0.0.1: a seeder and a leecher built from the library's
 * own parts, on a "greeting" torrent with a NUL in the middle and on a multi-file torrent
 * whose pieces cross file boundaries (with an empty file). The test process must end by
 * itself afterwards: a leaked socket or timer would hang it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTorrent, parseTorrent, type Metainfo } from '../../src/metainfo/index.js';
import { Session } from '../../src/session/session.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-loopback-'));
  dirs.push(d);
  return d;
}

async function seedAndLeech(meta: Metainfo, seedDir: string): Promise<string> {
  const outDir = await tempDir();
  const seedSession = new Session({ host: '127.0.0.1', port: 0, dht: false });
  const leechSession = new Session({ host: '127.0.0.1', port: 0, dht: false });
  try {
    const seeder = await seedSession.add(meta, { path: seedDir, trackers: false });
    await seeder.whenReady();
    assert.equal(seeder.state, 'seeding');
    const leecher = await leechSession.add(meta, { path: outDir, trackers: false, peers: [{ host: '127.0.0.1', port: seedSession.port }] });
    const done = leecher.whenDone();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('download did not finish in 20 s')), 20_000).unref());
    await Promise.race([done, timeout]);
    const st = leecher.stats();
    assert.equal(st.verified, meta.info.pieceCount);
    assert.equal(st.downloaded, meta.info.length);
    assert.equal(seeder.stats().uploaded, meta.info.length);
    return outDir;
  } finally {
    await leechSession.close();
    await seedSession.close();
  }
}

describe('in-process loopback swarm', () => {
  test('a greeting with a NUL in the middle', async () => {
    const src = await tempDir();
    await fs.writeFile(path.join(src, 'greeting'), 'hello,\x00world\n');
    const meta = parseTorrent(await createTorrent(path.join(src, 'greeting'), { pieceLength: 16384 }));
    const out = await seedAndLeech(meta, src);
    assert.deepEqual(await fs.readFile(path.join(out, 'greeting')), Buffer.from('hello,\x00world\n'));
  });

  test('a multi-file torrent whose pieces cross files, with an empty file', async () => {
    const root = await tempDir();
    const src = path.join(root, 'set');
    await fs.mkdir(path.join(src, 'sub'), { recursive: true });
    const files: [string, number][] = [['a.bin', 40_000], ['empty', 0], ['sub/b.bin', 5], ['sub/c.bin', 100_003], ['z.bin', 16_384 * 3]];
    let seed = 1;
    for (const [name, size] of files) {
      const buf = Buffer.alloc(size);
      for (let i = 0; i < size; i++) buf[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16;
      await fs.writeFile(path.join(src, name), buf);
    }
    const meta = parseTorrent(await createTorrent(src, { pieceLength: 32768 }));
    assert.ok(meta.info.pieceCount > 3);
    const out = await seedAndLeech(meta, root);
    for (const [name] of files) {
      assert.deepEqual(await fs.readFile(path.join(out, 'set', name)), await fs.readFile(path.join(src, name)), name);
    }
  });
});
