import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeUtMetadata,
  encodeUtMetadata,
  MAX_METADATA_SIZE,
  metadataPieceCount,
  metadataPieceLength,
  WireError,
} from '../../src/wire/index.js';

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof WireError && err.code === code);
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('ut_metadata (BEP 9)', () => {
  it('encodes and decodes BEP 9 request and reject examples', () => {
    assert.equal(encodeUtMetadata({ type: 'request', piece: 0 }).toString('latin1'), 'd8:msg_typei0e5:piecei0ee');
    assert.equal(encodeUtMetadata({ type: 'reject', piece: 0 }).toString('latin1'), 'd8:msg_typei2e5:piecei0ee');
    assert.deepEqual(decodeUtMetadata(b('d8:msg_typei0e5:piecei0ee')), { type: 'request', piece: 0 });
    assert.deepEqual(decodeUtMetadata(b('d8:msg_typei2e5:piecei0ee')), { type: 'reject', piece: 0 });
  });

  it('encodes and decodes the BEP 9 data example (total_size 34256) with the piece appended', () => {
    const piece = Buffer.alloc(16384, 0x61);
    const wire = Buffer.concat([b('d8:msg_typei1e5:piecei0e10:total_sizei34256ee'), piece]);
    assert.deepEqual(encodeUtMetadata({ type: 'data', piece: 0, totalSize: 34256, data: piece }), wire);
    const msg = decodeUtMetadata(wire, 34256);
    assert.deepEqual(msg, { type: 'data', piece: 0, totalSize: 34256, data: piece });
    assert.ok(msg.type === 'data' && msg.data.buffer === wire.buffer, 'data is a view, not a copy');
  });

  it('computes piece counts and lengths in 16 KiB pieces', () => {
    assert.equal(metadataPieceCount(1), 1);
    assert.equal(metadataPieceCount(16384), 1);
    assert.equal(metadataPieceCount(16385), 2);
    assert.equal(metadataPieceCount(34256), 3);
    assert.equal(metadataPieceLength(34256, 0), 16384);
    assert.equal(metadataPieceLength(34256, 2), 34256 - 32768);
    assert.equal(metadataPieceLength(32768, 1), 16384);
    rejects(() => metadataPieceCount(0), 'bad-ut-metadata');
    rejects(() => metadataPieceCount(MAX_METADATA_SIZE + 1), 'bad-ut-metadata');
    rejects(() => metadataPieceLength(34256, 3), 'bad-ut-metadata');
  });

  it('accepts the short last piece and nothing else short or long', () => {
    const head = (piece: number): Buffer => b(`d8:msg_typei1e5:piecei${piece}e10:total_sizei34256ee`);
    const last = Buffer.concat([head(2), Buffer.alloc(1488)]);
    assert.equal((decodeUtMetadata(last) as { data: Uint8Array }).data.length, 1488);
    rejects(() => decodeUtMetadata(Buffer.concat([head(2), Buffer.alloc(1489)])), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(Buffer.concat([head(0), Buffer.alloc(16383)])), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(Buffer.concat([head(1), Buffer.alloc(16385)])), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(Buffer.concat([head(3), Buffer.alloc(0)])), 'bad-ut-metadata');
  });

  it('checks piece indices and total_size against the announced size', () => {
    rejects(() => decodeUtMetadata(b('d8:msg_typei0e5:piecei3ee'), 34256), 'bad-ut-metadata');
    assert.deepEqual(decodeUtMetadata(b('d8:msg_typei0e5:piecei2ee'), 34256), { type: 'request', piece: 2 });
    const other = Buffer.concat([b('d8:msg_typei1e5:piecei0e10:total_sizei16384ee'), Buffer.alloc(16384)]);
    rejects(() => decodeUtMetadata(other, 34256), 'bad-ut-metadata');
    const huge = Buffer.concat([b(`d8:msg_typei1e5:piecei0e10:total_sizei${MAX_METADATA_SIZE + 1}ee`), Buffer.alloc(16384)]);
    rejects(() => decodeUtMetadata(huge), 'bad-ut-metadata');
  });

  it('ignores unknown msg_type values (BEP 9 says MUST ignore)', () => {
    assert.deepEqual(decodeUtMetadata(b('d8:msg_typei7e5:piecei0ee')), { type: 'unknown', msgType: 7 });
  });

  it('rejects malformed messages', () => {
    rejects(() => decodeUtMetadata(b('d5:piecei0ee')), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(b('d8:msg_typei0ee')), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(b('d8:msg_typei0e5:piecei-1ee')), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(b('d8:msg_typei0e5:piecei0eeXX')), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(b('d8:msg_typei1e5:piecei0ee')), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(b('li0ee')), 'bad-ut-metadata');
    rejects(() => decodeUtMetadata(b('d8:msg_type')), 'bad-ut-metadata');
  });

  it('refuses to encode a data piece of the wrong length', () => {
    rejects(() => encodeUtMetadata({ type: 'data', piece: 0, totalSize: 34256, data: Buffer.alloc(10) }), 'invalid-argument');
    rejects(() => encodeUtMetadata({ type: 'request', piece: -1 }), 'invalid-argument');
  });
});
