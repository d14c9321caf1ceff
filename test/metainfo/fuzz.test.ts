/**
 * Properties (fast-check): any bytes either parse or throw MetainfoError, never anything else;
 * a random valid torrent survives encode -> parse with every field intact.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encode } from '../../src/bencode/index.js';
import { MetainfoError, parseMagnet, parseTorrent } from '../../src/metainfo/index.js';
import { sha1 } from './helpers.js';

function onlyMetainfoErrors(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof MetainfoError)) throw err;
    assert.ok(!err.message.includes('\n'));
  }
}

// Prefixed so no generated name is a reserved Windows device name (those are renamed by design).
const safeName = fc.stringMatching(/^[a-zA-Z0-9 ._-]{0,15}[a-zA-Z0-9_-]$/).map((s) => `f${s}`);

describe('parseTorrent properties', () => {
  test('random bytes throw only MetainfoError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => onlyMetainfoErrors(() => parseTorrent(bytes))), { numRuns: 2000 });
  });

  test('bencode-shaped noise around torrent keys throws only MetainfoError', () => {
    const token = fc.constantFrom('d', 'l', 'e', 'i-1e', 'i0e', 'i16384e', '4:info', '4:name', '6:pieces', '12:piece length', '5:files', '4:path', '6:length', '20:aaaaaaaaaaaaaaaaaaaa', '1:a', '2:..', '0:', '12:meta version', '9:file tree', 'i2e');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => onlyMetainfoErrors(() => parseTorrent(Buffer.from(`d4:infod${tokens.join('')}`)))),
      { numRuns: 3000 },
    );
  });

  test('random strings throw only MetainfoError from parseMagnet', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 100 }), (a, b) => {
        onlyMetainfoErrors(() => parseMagnet(`magnet:?${a}`));
        onlyMetainfoErrors(() => parseMagnet(`magnet:?xt=urn:btih:${'a'.repeat(40)}&${a}=${b}`));
      }),
      { numRuns: 1000 },
    );
  });

  test('encode(random valid torrent) -> parse gives the same fields', () => {
    const file = fc.record({ path: fc.array(safeName, { minLength: 1, maxLength: 3 }), length: fc.integer({ min: 0, max: 100_000 }) });
    const spec = fc.record({
      name: safeName,
      pieceLength: fc.constantFrom(16384, 32768, 65536, 1 << 20, 1000),
      multi: fc.boolean(),
      files: fc.uniqueArray(file, { minLength: 1, maxLength: 8, selector: (f) => f.path.join('/') }),
      private: fc.boolean(),
      trackers: fc.array(fc.array(fc.integer({ min: 1, max: 65535 }).map((p) => `http://127.0.0.1:${p}/announce`), { minLength: 1, maxLength: 3 }), { maxLength: 3 }),
      comment: fc.option(safeName, { nil: undefined }),
    });
    fc.assert(
      fc.property(spec, (s) => {
        // Keep paths free of file/directory conflicts: every file gets a unique leaf directory prefix.
        const files = s.files.map((f, i) => ({ path: [`d${i}`, ...f.path], length: f.length }));
        const total = s.multi ? files.reduce((sum, f) => sum + f.length, 0) : files[0]!.length;
        fc.pre(total > 0);
        const count = Math.ceil(total / s.pieceLength);
        const pieces = Buffer.alloc(count * 20);
        for (let i = 0; i < pieces.length; i++) pieces[i] = (i * 31 + total) & 0xff;
        const info = s.multi
          ? { name: s.name, 'piece length': s.pieceLength, pieces, files, private: s.private ? 1 : undefined }
          : { name: s.name, 'piece length': s.pieceLength, pieces, length: total, private: s.private ? 1 : undefined };
        const tiers = s.trackers.map((t) => [...new Set(t)]);
        const bytes = encode({ 'announce-list': tiers.length > 0 ? tiers : undefined, comment: s.comment, info });
        const meta = parseTorrent(bytes);
        assert.equal(meta.infoHashHex, sha1(encode(info)).toString('hex'));
        assert.equal(meta.info.name, s.name.replace(/[. ]+$/, ''));
        assert.equal(meta.info.pieceLength, s.pieceLength);
        assert.equal(meta.info.length, total);
        assert.equal(meta.info.pieceCount, count);
        assert.deepEqual(Buffer.from(meta.info.pieces), pieces);
        assert.equal(meta.info.private, s.private);
        assert.equal(meta.info.multiFile, s.multi);
        assert.equal(meta.comment, s.comment);
        const seen = new Set<string>();
        // Tracker URLs come back in WHATWG form (http's default :80 dropped).
        const expectTiers = tiers.map((t) => t.map((u) => new URL(u).href).filter((u) => !seen.has(u) && seen.add(u) !== undefined)).filter((t) => t.length > 0);
        assert.deepEqual(meta.announce, expectTiers);
        if (s.multi) {
          assert.deepEqual(
            meta.info.files.map((f) => f.length),
            files.map((f) => f.length),
          );
          assert.deepEqual(
            meta.info.files.map((f) => f.path),
            files.map((f) => f.path.map((c) => c.replace(/[. ]+$/, ''))),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseMagnet properties', () => {
  const HEX = '0123456789abcdef0123456789abcdef01234567';
  /** Pieces a real or broken link is made of, so the parser's branches are reached often. */
  const piece = fc.oneof(
    fc.constantFrom('&', '=', '#', '%', '%2', '%ZZ', '%C3%28', '%E0%A4%A', '+', ' ', ':', ',', '-', '.1', '[', ']'),
    fc.constantFrom('xt', 'XT', 'dn', 'tr', 'ws', 'x.pe', 'so', 'xl', 'kt', 'urn:btih:', 'URN:BTMH:1220', HEX, 'udp%3A%2F%2F127.0.0.1%3A', '65536', '0-9'),
    fc.string({ maxLength: 6, unit: 'grapheme' }),
  );
  const prefix = fc.constantFrom('magnet:?', 'MAGNET:?', 'magnet://?', 'magnet:///?', ' magnet:?', 'magnet:', 'magnet:/?', '');

  test('any link throws only a one-line MetainfoError (code magnet)', () => {
    fc.assert(
      fc.property(prefix, fc.array(piece, { maxLength: 30 }), (p, parts) => {
        try {
          parseMagnet(p + parts.join(''));
        } catch (err) {
          assert.ok(err instanceof MetainfoError && err.code === 'magnet', String(err));
          assert.ok(!err.message.includes('\n'));
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('a valid xt survives any garbage in the optional parameters', () => {
    const key = fc.constantFrom('dn', 'tr', 'ws', 'x.pe', 'so', 'xl', 'kt', 'DN', 'Tr', 'so.1', 'tr.2', 'x.pe.3', 'foo');
    const value = fc.array(piece.filter((s) => !s.includes('&') && !s.includes('#')), { maxLength: 8 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 8 }), fc.boolean(), (params, xtFirst) => {
        const rest = params.map(([k, v]) => `${k}=${v}`);
        const all = xtFirst ? [`xt=urn:btih:${HEX}`, ...rest] : [...rest, `xt=urn:btih:${HEX}`];
        const m = parseMagnet(`magnet:?${all.join('&')}`);
        assert.equal(m.infoHashHex, HEX);
        for (const t of m.trackers) assert.match(t, /^(https?|udp):\/\//);
        for (const p of m.peers) assert.ok(p.port >= 1 && p.port <= 65535);
        for (const i of m.select ?? []) assert.ok(Number.isInteger(i) && i >= 0);
      }),
      { numRuns: 2000 },
    );
  });
});
