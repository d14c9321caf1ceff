/**
 * The test oracles themselves: if compareTrees, the tree layout, the summary parser or the
 * torrent reader were wrong, every interop test could pass for the wrong reason.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareTrees, treeLayout, writeRandomFile, writeRandomTree } from '../helpers/data.js';
import { parseSummary } from '../helpers/tessera.js';
import { makeTorrent, validPieces, writeWithAnnounce } from '../helpers/torrents.js';

describe('test helpers', { timeout: 120_000 }, () => {
  let root = '';

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-helpers-'));
  });

  after(async () => {
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  test('the tree layout has ≥ 100 files, empty ones, nested folders and files larger than a piece', () => {
    const files = treeLayout();
    assert.ok(files.length >= 100);
    assert.ok(files.filter((f) => f.size === 0).length >= 3);
    assert.ok(files.some((f) => f.path.split('/').length >= 4), 'a folder three levels deep');
    assert.ok(files.filter((f) => f.size > 1 << 20).length >= 4, 'large files so that pieces span files');
    assert.equal(new Set(files.map((f) => f.path)).size, files.length, 'paths are unique');
    assert.deepEqual(treeLayout(), files, 'the layout is deterministic');
  });

  test('the data is deterministic and differs between seeds', async () => {
    await writeRandomFile(join(root, 'a1'), 100_000, 'x');
    await writeRandomFile(join(root, 'a2'), 100_000, 'x');
    await writeRandomFile(join(root, 'b'), 100_000, 'y');
    const digest = async (p: string): Promise<string> => createHash('sha1').update(await readFile(p)).digest('hex');
    assert.equal(await digest(join(root, 'a1')), await digest(join(root, 'a2')));
    assert.notEqual(await digest(join(root, 'a1')), await digest(join(root, 'b')));
  });

  test('compareTrees accepts a copy and reports a flipped byte, a missing and an extra file', async () => {
    await writeRandomTree(join(root, 'x'), { files: 20, seed: 5 });
    await writeRandomTree(join(root, 'y'), { files: 20, seed: 5 });
    await compareTrees(join(root, 'x'), join(root, 'y'));
    const victim = treeLayout({ files: 20, seed: 5 }).find((f) => f.size > 1000);
    assert.ok(victim !== undefined);
    const bytes = await readFile(join(root, 'y', victim.path));
    bytes[777] = (bytes[777] as number) ^ 0xff;
    await writeFile(join(root, 'y', victim.path), bytes);
    await assert.rejects(compareTrees(join(root, 'x'), join(root, 'y')), /differs first at byte 777/);
    await writeRandomTree(join(root, 'y'), { files: 20, seed: 5 });
    await unlink(join(root, 'y', victim.path));
    await writeFile(join(root, 'y', 'extra.dat'), 'x');
    await assert.rejects(compareTrees(join(root, 'x'), join(root, 'y')), (err: Error) => /missing: /.test(err.message) && /unexpected: extra\.dat/.test(err.message));
    await assert.rejects(compareTrees(join(root, 'x'), join(root, 'nowhere')), /is missing/);
  });

  test('torrents: the announce can change without changing the info hash; valid pieces are found', async () => {
    await writeRandomFile(join(root, 'data', 'f.bin'), 100_000, 'torrent');
    const meta = await makeTorrent({ source: join(root, 'data', 'f.bin'), out: join(root, 'f.torrent'), pieceLengthLog2: 15 });
    assert.equal(meta.totalLength, 100_000);
    assert.equal(meta.pieceHashes.length, 4);
    const moved = await writeWithAnnounce(meta, 'udp://127.0.0.1:1234/announce', join(root, 'g.torrent'));
    assert.equal(moved.infoHashHex, meta.infoHashHex);
    assert.match((await readFile(join(root, 'g.torrent'))).toString('latin1'), /^d8:announce29:udp:\/\/127\.0\.0\.1:1234\/announce/);
    assert.deepEqual(await validPieces(meta, join(root, 'data', 'f.bin')), [true, true, true, true]);
    const fh = await open(join(root, 'data', 'f.bin'), 'r+');
    await fh.write(Buffer.from([1, 2, 3]), 0, 3, 40_000);
    await fh.close();
    assert.deepEqual(await validPieces(meta, join(root, 'data', 'f.bin')), [true, false, true, true]);
  });

  test('parseSummary reads the three counts and rejects output without them', () => {
    const s = parseSummary('x\ncomplete: a 1 MiB verified in 1.0 s (1 MiB/s), 1048576 bytes downloaded, 0 bytes uploaded, 3 hash failures, 1 peers banned\n');
    assert.deepEqual([s.bytesDownloaded, s.hashFailures, s.peersBanned], [1048576, 3, 1]);
    assert.throws(() => parseSummary('done\n'), /no summary line/);
    assert.throws(() => parseSummary('5 bytes downloaded\n'), /hash failures/);
  });
});
