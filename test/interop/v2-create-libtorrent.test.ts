/**
 * BEP 52 creation against libtorrent: for the same files and piece length, libtorrent's
 * create_torrent (v2_only and hybrid) and `createTorrent` give the same info hashes, and
 * libtorrent loads Tessera's torrents with the hashes Tessera reports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTorrent, parseTorrent } from '../../src/metainfo/index.js';

const SCRIPT = `
import sys, libtorrent as lt
src, flag, plen, ours = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fs = lt.file_storage()
lt.add_files(fs, src)
ct = lt.create_torrent(fs, plen, flags=(lt.create_torrent.v2_only if flag == 'v2' else 0))
lt.set_piece_hashes(ct, __import__('os').path.dirname(src))
theirs = lt.torrent_info(lt.bencode(ct.generate()))
mine = lt.torrent_info(ours)
for ti in (theirs, mine):
    h = ti.info_hashes()
    print(h.v1 if h.has_v1() else '-', h.v2 if h.has_v2() else '-')
`;

function python(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', SCRIPT, ...args], { timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`)),
    );
  });
}

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-v2-lt-'));
  await mkdir(path.join(dir, 'content', 'sub'), { recursive: true });
  await writeFile(path.join(dir, 'content', 'big.bin'), randomBytes(300_000));
  await writeFile(path.join(dir, 'content', 'empty'), '');
  await writeFile(path.join(dir, 'content', 'sub', 'small.bin'), randomBytes(5_000));
  await writeFile(path.join(dir, 'content', 'sub', 'exact.bin'), randomBytes(65_536));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const version of ['v2', 'hybrid'] as const) {
  test(`${version}: libtorrent's torrent of the same files has the same info hashes, and it loads ours`, async () => {
    const src = path.join(dir, 'content');
    const ours = path.join(dir, `${version}.torrent`);
    const bytes = await createTorrent(src, { version, pieceLength: 32768 });
    await writeFile(ours, bytes);
    const meta = parseTorrent(bytes);
    const [theirs, mine] = (await python([src, version, '32768', ours])).trim().split('\n');
    const expected = `${version === 'hybrid' ? meta.infoHashHex : '-'} ${meta.v2!.infoHashHex}`;
    assert.equal(mine, expected);
    assert.equal(theirs, expected);
  });
}
