import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '../../src/bencode/index.js';
import { TrackerError } from '../../src/tracker/errors.js';
import { buildAnnounceUrl, buildScrapeUrl, parseAnnounceBody, parseQueryBytes, parseScrapeBody, percentEncodeBytes, scrapeUrlFor } from '../../src/tracker/http-codec.js';

const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof TrackerError && e.code === code && (re === undefined || re.test(e.message));

test('info hash and peer id are percent-encoded byte by byte (unreserved bytes stay)', () => {
  assert.equal(percentEncodeBytes(Buffer.from([0x00, 0x41, 0x7e, 0x2d, 0x20, 0xff, 0x2f, 0x2e, 0x5f])), '%00A~-%20%FF%2F._');
  const url = buildAnnounceUrl('http://t.example/announce?passkey=x', {
    infoHash: Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex'),
    peerId: Buffer.from('-TS0001-aaaaaaaaaaaa', 'latin1'),
    port: 6881,
    uploaded: 1,
    downloaded: 2,
    left: 3,
    event: 'started',
    numWant: 50,
    key: 0xab,
    trackerId: 'id 1',
  });
  assert.equal(
    url,
    'http://t.example/announce?passkey=x&info_hash=%01%23Eg%89%AB%CD%EF%01%23Eg%89%AB%CD%EF%01%23Eg' +
      '&peer_id=-TS0001-aaaaaaaaaaaa&port=6881&uploaded=1&downloaded=2&left=3&compact=1&event=started&numwant=50&key=000000ab&trackerid=id%201',
  );
});

test("BEP 7: our public addresses go as ipv4= and ipv6=; anything that is not an address of that family is left out", () => {
  const base = { infoHash: new Uint8Array(20), peerId: new Uint8Array(20), port: 6881, uploaded: 0, downloaded: 0, left: 0 };
  const url = buildAnnounceUrl('http://t.example/announce', { ...base, ipv4: '203.0.113.7', ipv6: '2001:db8::7' });
  assert.ok(url.endsWith('&compact=1&ipv4=203.0.113.7&ipv6=2001%3Adb8%3A%3A7'), url);
  const odd = buildAnnounceUrl('http://t.example/announce', { ...base, ipv4: '2001:db8::7', ipv6: '203.0.113.7&x=1' });
  assert.ok(odd.endsWith('&compact=1'), odd);
});

test('query bytes decode back to the exact raw bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (bytes) => {
      const q = parseQueryBytes(`?info_hash=${percentEncodeBytes(bytes)}&x=1`);
      assert.deepEqual(q.get('info_hash'), [Buffer.from(bytes)]);
    }),
  );
  assert.deepEqual(parseQueryBytes('a=%zz&a=+&b'), new Map([['a', [Buffer.from('%zz'), Buffer.from(' ')]], ['b', [Buffer.alloc(0)]]]));
});

test('BEP 48: the scrape URL replaces a leading "announce" in the last path component', () => {
  assert.equal(scrapeUrlFor('http://example.com/announce'), 'http://example.com/scrape');
  assert.equal(scrapeUrlFor('http://example.com/x/announce'), 'http://example.com/x/scrape');
  assert.equal(scrapeUrlFor('http://example.com/announce.php'), 'http://example.com/scrape.php');
  assert.equal(scrapeUrlFor('http://example.com/announce?x2%0644'), 'http://example.com/scrape?x2%0644');
  assert.equal(scrapeUrlFor('http://example.com/a'), undefined);
  assert.equal(scrapeUrlFor('http://example.com/announce/'), undefined);
  assert.equal(scrapeUrlFor('http://example.com/x%064announce'), undefined);
  assert.equal(scrapeUrlFor('not a url'), undefined);
  assert.equal(buildScrapeUrl('http://e/scrape', [Buffer.alloc(20, 0x61), Buffer.alloc(20, 0x20)]), `http://e/scrape?info_hash=${'a'.repeat(20)}&info_hash=${'%20'.repeat(20)}`);
});

test('compact peers (BEP 23), peers6 (BEP 7) and the counts', () => {
  const body = encode({
    complete: 3,
    incomplete: 4,
    interval: 1800,
    'min interval': 900,
    peers: Buffer.from('7f0000011ae1' + '0a0000010050', 'hex'),
    peers6: Buffer.from('00'.repeat(15) + '01' + '1ae2', 'hex'),
    'tracker id': 'abc',
    'warning message': 'slow\u001b[31m down',
  });
  assert.deepEqual(parseAnnounceBody(body), {
    interval: 1800,
    minInterval: 900,
    peers: [
      { host: '127.0.0.1', port: 6881 },
      { host: '10.0.0.1', port: 80 },
      { host: '::1', port: 6882 },
    ],
    complete: 3,
    incomplete: 4,
    warning: 'slow?[31m down',
    trackerId: 'abc',
  });
});

test('the dictionary peer form (BEP 3): IP literals kept, host names and bad ports dropped', () => {
  const body = encode({
    interval: 60,
    peers: [
      { ip: '127.0.0.1', port: 1, 'peer id': Buffer.alloc(20) },
      { ip: '::1', port: 2 },
      { ip: 'evil.example', port: 3 },
      { ip: '127.0.0.2', port: 0 },
      { ip: '127.0.0.3', port: 70000 },
      { port: 4 },
      'junk',
    ],
  });
  assert.deepEqual(parseAnnounceBody(body).peers, [
    { host: '127.0.0.1', port: 1 },
    { host: '::1', port: 2 },
  ]);
});

test('intervals are clamped; a missing interval gets the default; duplicates dropped', () => {
  assert.equal(parseAnnounceBody(encode({ interval: 1, peers: '' })).interval, 60);
  assert.equal(parseAnnounceBody(encode({ interval: 10 ** 12, 'min interval': 5, peers: '' })).interval, 86400);
  assert.equal(parseAnnounceBody(encode({ interval: 10 ** 12, 'min interval': 5, peers: '' })).minInterval, 60);
  assert.equal(parseAnnounceBody(encode({ peers: '' })).interval, 1800);
  assert.equal(parseAnnounceBody(encode({ peers: Buffer.from('7f0000011ae17f0000011ae1', 'hex') })).peers.length, 1);
});

test("BEP 31 'retry in': minutes or never; hostile values are ignored or capped at a week", () => {
  const retryIn = (v: unknown): unknown => {
    try {
      parseAnnounceBody(encode({ 'failure reason': 'busy', 'retry in': v as number }));
    } catch (err) {
      assert.ok(err instanceof TrackerError && err.code === 'tracker-failure');
      return { retryIn: err.retryIn, gone: err.gone };
    }
    assert.fail('a failure reason must throw');
  };
  assert.deepEqual(retryIn(5), { retryIn: 5, gone: false });
  assert.deepEqual(retryIn('never'), { retryIn: 'never', gone: true });
  assert.deepEqual(retryIn(-3), { retryIn: undefined, gone: false });
  assert.deepEqual(retryIn('soon'), { retryIn: undefined, gone: false });
  assert.deepEqual(retryIn(10 ** 15), { retryIn: 7 * 24 * 60, gone: false });
  assert.deepEqual(retryIn([1]), { retryIn: undefined, gone: false });
});

test('failure reason becomes a tracker-failure, sanitized', () => {
  assert.throws(() => parseAnnounceBody(encode({ 'failure reason': 'not\nauthorized\u202e' })), isCode('tracker-failure', /^not\?authorized\?$/));
  assert.throws(() => parseScrapeBody(encode({ 'failure reason': 'nope' })), isCode('tracker-failure', /^nope$/));
});

test('malformed announce replies are tracker-protocol errors', () => {
  const cases: [Uint8Array, RegExp][] = [
    [Buffer.from('<html>502</html>'), /not valid bencode/],
    [Buffer.from('d8:intervali60e'), /not valid bencode/],
    [Buffer.from('d8:intervali60e5:peers0:5:peers0:e'), /not valid bencode/],
    [Buffer.from('li1ee'), /not a dictionary/],
    [encode({ peers: 5 }), /peers of the wrong type/],
    [encode({ peers: '', peers6: [] }), /peers6 of the wrong type/],
  ];
  for (const [body, re] of cases) assert.throws(() => parseAnnounceBody(body), isCode('tracker-protocol', re), re.source);
  const deep = Buffer.from(`d5:peers${'l'.repeat(20)}${'e'.repeat(20)}e`);
  assert.throws(() => parseAnnounceBody(deep), isCode('tracker-protocol', /not valid bencode/));
});

test('tolerant: trailing bytes, unsorted keys, a partial peer entry and numbers past int64 do not void a reply', () => {
  const peer = '7f0000011ae1';
  const r = parseAnnounceBody(Buffer.from(`d8:intervali60e5:peers6:${Buffer.from(peer, 'hex').toString('latin1')}e\r\n<html>trailing</html>`, 'latin1'));
  assert.deepEqual([r.interval, r.peers], [60, [{ host: '127.0.0.1', port: 6881 }]]);
  assert.equal(parseAnnounceBody(Buffer.from('d5:peers0:8:intervali120ee')).interval, 120, 'unsorted keys');
  const partial = parseAnnounceBody(encode({ interval: 60, peers: Buffer.from(`${peer}7f00`, 'hex'), peers6: Buffer.alloc(17) }));
  assert.deepEqual(partial.peers, [{ host: '127.0.0.1', port: 6881 }]);
  const huge = Buffer.from(`d8:completei9223372036854775808e10:incompletei-9223372036854775809e8:intervali${'9'.repeat(40)}e12:min intervali-5e5:peers0:e`);
  assert.deepEqual(parseAnnounceBody(huge), { interval: 86400, minInterval: 60, peers: [], complete: Number.MAX_SAFE_INTEGER });
  const scrapeHuge = Buffer.from(`d5:filesd20:${'a'.repeat(20)}d8:completei9223372036854775808e10:downloadedi1e10:incompletei2eeee`);
  assert.deepEqual(parseScrapeBody(scrapeHuge).get('61'.repeat(20)), { complete: Number.MAX_SAFE_INTEGER, downloaded: 1, incomplete: 2 });
});

test('scrape replies: files keyed by raw info hash', () => {
  const h = Buffer.alloc(20, 0xcd);
  const res = parseScrapeBody(encode({ files: new Map([[h.toString('latin1'), { complete: 2, downloaded: 7, incomplete: 1 }]]) }));
  assert.deepEqual([...res], [[h.toString('hex'), { complete: 2, downloaded: 7, incomplete: 1 }]]);
  assert.throws(() => parseScrapeBody(encode({ x: 1 })), isCode('tracker-protocol', /no files/));
  assert.throws(() => parseScrapeBody(encode({ files: { short: { complete: 1 } } })), isCode('tracker-protocol', /malformed entry/));
});

test('fuzz: random bodies either parse or throw a TrackerError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      for (const fn of [() => parseAnnounceBody(bytes), () => parseScrapeBody(bytes)]) {
        try {
          fn();
        } catch (e) {
          if (!(e instanceof TrackerError)) throw e;
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test('fuzz: bencode-shaped replies parse within bounds or throw a TrackerError', () => {
  const token = fc.constantFrom(
    'd', 'l', 'e', 'e', 'i60e', 'i-1e', 'i0e', 'i9223372036854775808e', `i${'9'.repeat(30)}e`, 'i-9223372036854775809e',
    '8:interval', '12:min interval', '8:complete', '10:incomplete', '5:peers', '6:peers6', '14:failure reason', '15:warning message',
    '10:tracker id', '5:files', '2:ip', '4:port', '6:\x7f\x00\x00\x01\x1a\xe1', '7:\x7f\x00\x00\x01\x1a\xe1\x00', '0:', '3:abc', '\r\n', '<html>',
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 30 }), fc.boolean(), (tokens, prefixed) => {
      const body = Buffer.from(`${prefixed ? 'd' : ''}${tokens.join('')}`, 'latin1');
      let r;
      try {
        r = parseAnnounceBody(body);
      } catch (e) {
        if (!(e instanceof TrackerError)) throw e;
        return;
      }
      assert.ok(r.interval >= 60 && r.interval <= 86400);
      if (r.minInterval !== undefined) assert.ok(r.minInterval >= 60 && r.minInterval <= 86400);
      for (const n of [r.complete, r.incomplete]) if (n !== undefined) assert.ok(Number.isSafeInteger(n) && n >= 0);
      for (const p of r.peers) assert.ok(p.port >= 1 && p.port <= 65535);
    }),
    { numRuns: 5000 },
  );
});
