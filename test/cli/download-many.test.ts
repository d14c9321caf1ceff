/**
 * Several sources in one command: `tessera seed a.torrent b.torrent DIR` serves both from one
 * session, and `tessera download a.torrent magnet:… -o DIR` fetches a .torrent and a magnet
 * link (bare info hash form) from it in one session, printing one `complete:` line each.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTorrent, parseTorrent } from '../../src/metainfo/index.js';
import { compareTrees, writeRandomFile } from '../helpers/data.js';
import { freePort } from '../helpers/ports.js';
import { startProc, stopAll } from '../helpers/proc.js';
import { cliPath } from '../helpers/tessera.js';

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-many-'));
});

after(async () => {
  await stopAll();
  await rm(dir, { recursive: true, force: true });
});

describe('download and seed of several torrents in one session', { timeout: 300_000 }, () => {
  test('seed two, download both (one as a bare info hash), each complete and identical', async () => {
    const data = join(dir, 'data');
    await mkdir(join(data, 'folder'), { recursive: true });
    await writeRandomFile(join(data, 'one.bin'), 3 * 1024 * 1024 + 17, 'many-one');
    await writeRandomFile(join(data, 'folder', 'a.bin'), 700_000, 'many-a');
    await writeRandomFile(join(data, 'folder', 'b.bin'), 5, 'many-b');
    const one = join(dir, 'one.torrent');
    const folder = join(dir, 'folder.torrent');
    await writeFile(one, await createTorrent(join(data, 'one.bin'), { pieceLength: 65536 }));
    await writeFile(folder, await createTorrent(join(data, 'folder'), { pieceLength: 32768 }));
    const folderHash = parseTorrent(await createTorrent(join(data, 'folder'), { pieceLength: 32768 })).infoHashHex;

    const seedPort = await freePort();
    const seed = startProc('tessera-seed', process.execPath, [cliPath, 'seed', one, folder, data, '--port', String(seedPort)]);
    // Both torrents checked: a `seeding:` line each.
    await seed.waitForLine(/^seeding: folder /, 60_000);
    await seed.waitForLine(/^seeding: one\.bin /, 60_000);
    const out = join(dir, 'out');
    const args = [cliPath, 'download', one, folderHash, '-o', out, '--port', String(await freePort()), '--no-dht', '--peer', `127.0.0.1:${seedPort}`, '--timeout', '60'];
    const dl = startProc('tessera-download', process.execPath, args, { graceMs: 15_000 });
    const exit = await dl.waitForExit(180_000);
    assert.equal(exit.code, 0, dl.tail());
    const completes = dl.stdout.split('\n').filter((l) => l.startsWith('complete: '));
    assert.equal(completes.length, 2, dl.stdout);
    assert.ok(completes.some((l) => l.startsWith('complete: one.bin ')));
    assert.ok(completes.some((l) => l.startsWith('complete: folder ')));
    assert.match(dl.stderr, new RegExp(`fetching metadata for ${folderHash}`));
    assert.match(dl.stderr, /metadata received: folder, /);
    await compareTrees(join(data, 'one.bin'), join(out, 'one.bin'));
    await compareTrees(join(data, 'folder'), join(out, 'folder'));

    // How seed ends on Ctrl-C is seed.test.ts's subject; here it only has to be stopped.
    await seed.stop();
    assert.equal(seed.stdout.split('\n').filter((l) => l.startsWith('seeding: ')).length, 2, 'the seed checked both torrents');
  });
});
