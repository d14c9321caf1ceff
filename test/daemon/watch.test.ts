/**
 * The watch folder: a .torrent is taken once it stayed the same over two scans (never while
 * it is still being written), then renamed `.added`; an unusable one `.invalid`; other files
 * are left alone.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WatchFolder } from '../../src/daemon/watch.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('WatchFolder', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-watch-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('stable files are added once and renamed; growing ones wait; bad ones are marked invalid', async () => {
    const added: string[] = [];
    const logs: string[] = [];
    const watch = new WatchFolder(
      dir,
      new FakeClock(),
      async (bytes, name) => {
        if (bytes.toString() === 'bad') throw new Error('not a torrent');
        added.push(name);
      },
      (l) => logs.push(l),
    );
    await writeFile(join(dir, 'a.torrent'), 'good-a');
    await writeFile(join(dir, 'b.TORRENT'), 'bad');
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    await writeFile(join(dir, 'c.torrent'), 'part');
    await watch.scan();
    assert.deepEqual(added, [], 'nothing is taken at first sight');
    await appendFile(join(dir, 'c.torrent'), '-more');
    await watch.scan();
    assert.deepEqual(added, ['a.torrent']);
    await watch.scan();
    assert.deepEqual(added, ['a.torrent', 'c.torrent']);
    assert.deepEqual((await readdir(dir)).sort(), ['a.torrent.added', 'b.TORRENT.invalid', 'c.torrent.added', 'notes.txt']);
    assert.ok(logs.some((l) => /b\.TORRENT was not added: not a torrent/.test(l)));
    await watch.scan();
    assert.equal(added.length, 2, 'renamed files are not taken again');
  });
});
