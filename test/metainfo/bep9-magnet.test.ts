import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMagnet, MetainfoError, parseMagnet, parseTorrent, toMagnet } from '../../src/metainfo/index.js';
import { makeTorrent } from './helpers.js';

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
const HASH_BYTES = Buffer.from(HEX, 'hex');

function base32(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const x of bytes) bits += x.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
}

function bad(uri: string, pattern: RegExp): void {
  assert.throws(() => parseMagnet(uri), (e: unknown) => e instanceof MetainfoError && e.code === 'magnet' && pattern.test(e.message));
}

describe('BEP 9 magnet links', () => {
  test('the BEP 9 form: xt, dn, tr, x.pe', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX}&dn=My+Torrent%21&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&tr=udp%3A%2F%2F127.0.0.1%3A6969&x.pe=127.0.0.1:6881&x.pe=[::1]:51413`,
    );
    assert.equal(m.infoHashHex, HEX);
    assert.equal(m.name, 'My Torrent!');
    assert.deepEqual(m.trackers, ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969']);
    assert.deepEqual(m.peers, [
      { host: '127.0.0.1', port: 6881 },
      { host: '::1', port: 51413 },
    ]);
  });

  test('32-character base32 info hash', () => {
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${base32(HASH_BYTES)}`).infoHashHex, HEX);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${base32(HASH_BYTES).toLowerCase()}`).infoHashHex, HEX);
  });

  test('BEP 52 btmh multihash, alone or with btih', () => {
    const mh = `1220${'ab'.repeat(32)}`;
    const m = parseMagnet(`magnet:?xt=urn:btmh:${mh}`);
    assert.equal(m.btmh, mh);
    assert.equal(m.infoHash, undefined);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:${mh}`).infoHashHex, HEX);
    bad('magnet:?xt=urn:btmh:1114abcd', /multihash/);
  });

  test('ws web seeds and BEP 53 so= selection', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&ws=http%3A%2F%2F127.0.0.1%2Fseed&so=0,2,4-6,2`);
    assert.deepEqual(m.webSeeds, ['http://127.0.0.1/seed']);
    assert.deepEqual(m.select, [0, 2, 4, 5, 6]);
  });

  test('garbage in so= is skipped, the rest of the selection kept, and the size bounded', () => {
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${HEX}&so=a,1,5-1,3-4,x-y,9-9999999,`).select, [1, 3, 4]);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&so=nothing`).select, undefined, 'no valid item: no selection, every file');
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&so=0-999999`).select?.length, 10_000);
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${HEX}&so=2&so.1=0`).select, [0, 2]);
  });

  test('bad percent-encoding outside xt drops that parameter (dn is kept as written)', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=%ZZ+top&tr=%&ws=%E0%A4%A&x.pe=%C3%28&so=%ZZ&%E0%A4%A=1`);
    assert.equal(m.infoHashHex, HEX);
    assert.equal(m.name, '%ZZ top');
    assert.deepEqual([m.trackers, m.webSeeds, m.peers, m.select], [[], [], [], undefined]);
    assert.equal(parseMagnet(`magnet:?xt=urn:btih:${HEX}&dn=%C3%28`).name, '%C3%28', 'invalid UTF-8 in dn is kept raw');
    bad(`magnet:?xt=urn:btih:%ZZ${HEX}`, /percent-encoding in xt/);
  });

  test('unusable peers and trackers are skipped, not fatal', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}&x.pe=nope&x.pe=1.2.3.4:0&x.pe=1.2.3.4:70000&tr=javascript:alert(1)`);
    assert.deepEqual(m.peers, []);
    assert.deepEqual(m.trackers, []);
  });

  test('tr= with a bad port is dropped, the good ones kept', () => {
    const trs = ['udp://127.0.0.1:99999', 'udp://127.0.0.1', 'udp://127.0.0.1:0', 'http://127.0.0.1:port/announce', 'http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969'];
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}${trs.map((t) => `&tr=${encodeURIComponent(t)}`).join('')}`);
    assert.deepEqual(m.trackers, ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969']);
  });

  test('real-world spellings: case, whitespace, magnet://?, magnet:///?, #fragment, numbered and unknown keys', () => {
    const forms = [
      `MAGNET:?XT=URN:BTIH:${HEX.toUpperCase()}&DN=Big&TR=udp%3A%2F%2F127.0.0.1%3A1`,
      `  \t magnet:?xt=urn:btih:${HEX}&dn=Big&tr=udp%3A%2F%2F127.0.0.1%3A1 \r\n`,
      `magnet://?xt=urn:btih:${HEX}&dn=Big&tr=udp%3A%2F%2F127.0.0.1%3A1`,
      `magnet:///?xt=urn:btih:${HEX}&dn=Big&tr=udp%3A%2F%2F127.0.0.1%3A1`,
      `magnet:?xt.1=urn:btih:${HEX}&dn=Big&tr.1=udp%3A%2F%2F127.0.0.1%3A1#files`,
      `Magnet:?xt=urn:btih:${HEX}&&dn=Big&xl=lots&kt=a+b&x.pe=::&tr=udp%3A%2F%2F127.0.0.1%3A1&foo&=bar#`,
    ];
    for (const uri of forms) {
      const m = parseMagnet(uri);
      assert.deepEqual([m.infoHashHex, m.name, m.trackers], [HEX, 'Big', ['udp://127.0.0.1:1']], uri);
    }
  });

  test('isMagnet: what the CLI reads as a link rather than a file name', () => {
    for (const arg of ['magnet:?xt=1', ' \tMAGNET:?xt', 'Magnet://?']) assert.equal(isMagnet(arg), true, arg);
    for (const arg of ['a.torrent', './magnet:?xt', 'magnets.torrent', '']) assert.equal(isMagnet(arg), false, arg);
  });

  test('only a missing or invalid xt refuses a link', () => {
    bad('magnet:?dn=x&tr=udp%3A%2F%2F127.0.0.1%3A1', /no 'xt=urn:btih:'/);
    bad('magnet:?xt=urn:sha1:YNCKHTQCWBTRNJIV4WNAE52SJUQCZO5C', /no 'xt=urn:btih:'/);
    bad(`magnet:?xt=urn:btih:${HEX.slice(1)}`, /neither 40 hex/);
    bad(`magnet:?dn=x#xt=urn:btih:${HEX}`, /no 'xt=urn:btih:'/);
    bad(`magnet:xt=urn:btih:${HEX}`, /does not start with/);
  });

  test('structural errors', () => {
    bad('http://example.com', /magnet:\?/);
    bad('magnet:?dn=x', /no 'xt=urn:btih:'/);
    bad('magnet:?xt=urn:btih:1234', /neither 40 hex nor 32 base32/);
    bad(`magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`, /two different/);
    bad(`magnet:?xt=urn:btih:${HEX}&dn=${'a'.repeat(70_000)}`, /longer than/);
  });

  test('toMagnet round-trips through parseMagnet', () => {
    const meta = parseTorrent(
      makeTorrent({ name: 'a b&c', root: { 'announce-list': [['http://127.0.0.1/a'], ['udp://127.0.0.1:1']], 'url-list': 'http://127.0.0.1/w' } }),
    );
    const m = parseMagnet(toMagnet(meta));
    assert.equal(m.infoHashHex, meta.infoHashHex);
    assert.equal(m.name, 'a b&c');
    assert.deepEqual(m.trackers, ['http://127.0.0.1/a', 'udp://127.0.0.1:1']);
    assert.deepEqual(m.webSeeds, ['http://127.0.0.1/w']);
  });
});
