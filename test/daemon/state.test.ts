/**
 * state.json: what is saved comes back (seeding limits too); a damaged entry is left out
 * rather than taken for a torrent; concurrent saves end with the latest state on disk and no temporary file left.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StateStore, type SavedTorrent } from '../../src/daemon/state.js';

const torrent = (id: number): SavedTorrent => ({
  id,
  infoHash: id.toString(16).padStart(40, '0'),
  downloadDir: '/srv/downloads',
  paused: id % 2 === 0,
  addedDate: 1_700_000_000,
  doneDate: 0,
  downLimit: 1000 * id,
  upLimit: 0,
  wanted: [true, false],
  priorities: [1, -1],
  downloadedEver: 5,
  uploadedEver: 7,
});

describe('StateStore', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('no file: an empty list', async () => {
    assert.deepEqual(await new StateStore(join(dir, 'none')).load(), { nextId: 1, torrents: [] });
  });

  test('concurrent saves: the last state is on disk, and it loads back as saved', async () => {
    const store = new StateStore(join(dir, 'a'));
    const saves = [];
    for (let n = 1; n <= 20; n++) {
      const list = Array.from({ length: n }, (_, i) => torrent(i + 1));
      saves.push(store.save(() => ({ nextId: n + 1, torrents: list, maxDown: 500 })));
    }
    await Promise.all(saves);
    const loaded = await store.load();
    assert.equal(loaded.torrents.length, 20);
    assert.equal(loaded.nextId, 21);
    assert.equal(loaded.maxDown, 500);
    assert.deepEqual(loaded.torrents[3], torrent(4));
    assert.deepEqual(await readdir(join(dir, 'a')), ['state.json']);
  });

  test('damaged entries are left out; ids never go back', async () => {
    const sub = join(dir, 'b');
    const store = new StateStore(sub);
    await store.save(() => ({ nextId: 1, torrents: [] }));
    const good = torrent(9);
    await writeFile(
      join(sub, 'state.json'),
      JSON.stringify({ nextId: 2, torrents: [good, { id: 3, infoHash: 'zz' }, { ...good, id: 4, downloadDir: 'relative' }, null, 'x', { ...good, id: -1 }] }),
    );
    const loaded = await store.load();
    assert.deepEqual(loaded.torrents, [good]);
    assert.equal(loaded.nextId, 10);
  });

  test('seeding limits come back as saved; damaged ones are dropped, keeping the torrent', async () => {
    const sub = join(dir, 'seed');
    const store = new StateStore(sub);
    const seed = { ratioMode: 1 as const, ratio: 0.5, idleMode: 2 as const, idleMinutes: 10 };
    const session = { ratio: 1.5, ratioLimited: true, idleMinutes: 30, idleLimited: false };
    await store.save(() => ({ nextId: 3, torrents: [{ ...torrent(1), seed }, { ...torrent(2), seed: { ...seed, ratioMode: 7 } as never }], seed: session }));
    const loaded = await store.load();
    assert.deepEqual(loaded.torrents, [{ ...torrent(1), seed }, torrent(2)]);
    assert.deepEqual(loaded.seed, session);
    await writeFile(join(sub, 'state.json'), JSON.stringify({ nextId: 1, torrents: [], seed: { ...session, ratio: -1 } }));
    assert.equal((await store.load()).seed, undefined);
  });

  test('a file that is not JSON is an error, not an empty list (it is never overwritten unread)', async () => {
    const sub = join(dir, 'c');
    const store = new StateStore(sub);
    await store.save(() => ({ nextId: 1, torrents: [] }));
    await writeFile(join(sub, 'state.json'), '{"torrents": [');
    await assert.rejects(store.load());
  });
});
