/**
 * The webtorrent-fixtures package documents each fixture's info hash (its `parsedTorrent`);
 * Tessera's parser must agree on every one, and reject the package's corrupt torrent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MetainfoError, parseTorrent } from '../../src/metainfo/index.js';

interface Fixture {
  readonly torrentPath?: string;
  readonly parsedTorrent?: { readonly infoHash?: string; readonly name?: string; readonly length?: number };
}

// The package ships no types; load it through a variable specifier and narrow by hand.
const specifier: string = 'webtorrent-fixtures';
const fixtures = ((await import(specifier)) as { default: Record<string, Fixture> }).default;

describe('webtorrent-fixtures', () => {
  const named = Object.entries(fixtures).filter(([, f]) => f.torrentPath !== undefined && f.parsedTorrent?.infoHash !== undefined);

  test('the package lists its torrents', () => {
    assert.ok(named.length >= 7);
  });

  for (const [name, fixture] of named) {
    test(`${name}: info hash, name and length as documented`, () => {
      const meta = parseTorrent(readFileSync(fixture.torrentPath!));
      assert.equal(meta.infoHashHex, fixture.parsedTorrent!.infoHash);
      assert.equal(meta.info.name, fixture.parsedTorrent!.name);
      assert.equal(meta.info.length, fixture.parsedTorrent!.length);
    });
  }

  test('corrupt.torrent is rejected with a MetainfoError', () => {
    const file = fixtures['corrupt']?.torrentPath;
    assert.ok(file !== undefined);
    assert.throws(() => parseTorrent(readFileSync(file)), MetainfoError);
  });
});
