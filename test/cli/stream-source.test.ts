/**
 * The torrent-to-stream adapter: a read marks the pieces under it (then a read-ahead window)
 * urgent, newest read first, waits until they are verified, and returns the file's bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TorrentStreamSource, type StreamTorrent } from '../../src/cli/stream-source.js';

class FakeTorrent implements StreamTorrent {
  readonly pieceLength = 1000;
  readonly pieceCount = 10;
  readonly have = new Set<number>();
  urgent: number[][] = [];
  private listeners = new Set<(p: number) => void>();
  files() {
    return [
      { path: 't/a.bin', length: 2500, offset: 0 },
      { path: 't/b.mp4', length: 7500, offset: 2500, priority: 'skip' },
    ];
  }
  hasPiece(i: number): boolean {
    return this.have.has(i);
  }
  setUrgent(pieces: readonly number[]): void {
    this.urgent.push([...pieces]);
  }
  onVerified(fn: (p: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  verify(p: number): void {
    this.have.add(p);
    for (const l of this.listeners) l(p);
  }
}

test('a read waits for its pieces, asks for them first, and returns the bytes', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-stream-src-'));
  try {
    const content = Buffer.alloc(10_000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 13) & 0xff;
    await mkdir(path.join(dir, 't'));
    await writeFile(path.join(dir, 't', 'a.bin'), content.subarray(0, 2500));
    await writeFile(path.join(dir, 't', 'b.mp4'), content.subarray(2500));
    const t = new FakeTorrent();
    const src = new TorrentStreamSource(t, dir, { readAheadBytes: 3000 });
    assert.deepEqual(src.files(), [
      { path: 't/a.bin', length: 2500, skipped: false },
      { path: 't/b.mp4', length: 7500, skipped: true },
    ]);

    // File 1 bytes 4000..4999 are torrent bytes 6500..7499: pieces 6 and 7; read-ahead to 8.
    let got: Uint8Array | undefined;
    const pending = src.read(1, 4000, 1000, new AbortController().signal).then((b) => (got = b));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.urgent.at(-1), [6, 7, 8]);
    t.verify(6);
    await new Promise((r) => setImmediate(r));
    assert.equal(got, undefined, 'still waits for piece 7');
    assert.deepEqual(t.urgent.at(-1), [7, 8]);
    // A seek elsewhere comes first in the urgent list.
    const ac = new AbortController();
    const seek = src.read(1, 0, 10, ac.signal);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(t.urgent.at(-1), [2, 3, 4, 7, 8]);
    ac.abort();
    await assert.rejects(seek, /aborted/);
    t.verify(7);
    await pending;
    assert.deepEqual(Buffer.from(got!), content.subarray(6500, 7500));
    assert.deepEqual(t.urgent.at(-1), [], 'nothing urgent once no read waits');
    // The last byte of the last file, already verified: no wait.
    t.verify(9);
    assert.deepEqual(Buffer.from(await src.read(1, 7499, 1, new AbortController().signal)), content.subarray(9999));
    await assert.rejects(src.read(1, 7499, 2, new AbortController().signal), RangeError);
    await src.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
