import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from '../../src/bencode/index.js';
import { TrackerError } from '../../src/tracker/errors.js';
import { parseQueryBytes } from '../../src/tracker/http-codec.js';
import { TrackerSet, TrackerSetError } from '../../src/tracker/tiers.js';
import type { AnnounceParams } from '../../src/tracker/types.js';

const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** Every request to every fake tracker, in order: `name?query`. */
const log: { name: string; query: Map<string, Buffer[]> }[] = [];

async function tracker(name: string, reply: Record<string, unknown> = { interval: 60, peers: '' }): Promise<string> {
  const s = createServer((req, res) => {
    log.push({ name, query: parseQueryBytes((req.url ?? '').split('?')[1] ?? '') });
    res.end(encode(reply as Parameters<typeof encode>[0]));
  });
  s.on('error', () => undefined);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/${name}/announce`;
}

const failing = (name: string): Promise<string> => tracker(name, { 'failure reason': `${name} says no` });
const names = (): string[] => log.map((l) => l.name);
const PARAMS: AnnounceParams = { infoHash: Buffer.alloc(20, 3), peerId: Buffer.alloc(20, 4), port: 1, uploaded: 0, downloaded: 0, left: 1 };
/** Math.random stand-in that never swaps: Fisher–Yates then keeps the given order. */
const keepOrder = (): number => 0.999999;

test('tiers are shuffled with the injected random source', () => {
  const set = new TrackerSet([['a', 'b', 'c'], ['d'], [], ['a', 'e']], { random: () => 0 });
  // i=2 swaps with 0 → c b a; i=1 swaps with 0 → b c a. Duplicates and empty tiers are dropped.
  assert.deepEqual(set.tiers, [['b', 'c', 'a'], ['d'], ['e']]);
  assert.deepEqual(new TrackerSet([['a', 'b', 'c']], { random: keepOrder }).tiers, [['a', 'b', 'c']]);
});

test('falls through a failing tier to the next, in order; the winner moves to the front', async () => {
  log.length = 0;
  const a = await failing('a');
  const b = await failing('b');
  const c = await failing('c');
  const d = await tracker('d');
  const set = new TrackerSet([[a, b], [c, d]], { random: keepOrder });
  const { url } = await set.announce(PARAMS);
  assert.equal(url, d);
  assert.deepEqual(names(), ['a', 'b', 'c', 'd']);
  assert.deepEqual(set.tiers, [[a, b], [d, c]]);
  log.length = 0;
  await set.announce(PARAMS);
  assert.deepEqual(names(), ['a', 'b', 'd'], 'tier 2 now starts with the tracker that answered');
});

test('a dead tracker (closed port) falls through too', async () => {
  log.length = 0;
  // The live tracker listens first: a port closed before it listened could be handed to it.
  const live = await tracker('live');
  const dead = await tracker('dead');
  const s = servers.pop()!;
  await new Promise((r) => s.close(r));
  const { url } = await new TrackerSet([[dead, live]], { random: keepOrder }).announce(PARAMS);
  assert.equal(url, live);
});

test('when every tracker fails: one TrackerSetError listing each failure', async () => {
  const a = await failing('x1');
  const b = await failing('x2');
  const set = new TrackerSet([[a], [b]], { random: keepOrder });
  await assert.rejects(set.announce(PARAMS), (e: unknown) => {
    assert.ok(e instanceof TrackerSetError && e instanceof TrackerError);
    assert.equal(e.code, 'tracker-all-failed');
    assert.deepEqual(
      e.failures.map((f) => [f.url, f.error.code, f.error.message]),
      [
        [a, 'tracker-failure', 'x1 says no'],
        [b, 'tracker-failure', 'x2 says no'],
      ],
    );
    assert.equal(e.message, `all 2 trackers failed: ${a}: x1 says no; ${b}: x2 says no`);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  await assert.rejects(new TrackerSet([]).announce(PARAMS), /no trackers/);
});

test('the tracker id is sent back, and one key is used for every tracker', async () => {
  log.length = 0;
  const t = await tracker('tid', { interval: 60, peers: '', 'tracker id': 'T-42' });
  const u = await tracker('other');
  const set = new TrackerSet([[t], [u]], { random: keepOrder });
  await set.announce({ ...PARAMS, event: 'started' });
  await set.announce(PARAMS);
  await set.announceAll({ ...PARAMS, event: 'stopped' });
  const tid = log.filter((l) => l.name === 'tid');
  assert.equal(tid.length, 3);
  assert.equal(tid[0]!.query.has('trackerid'), false);
  assert.equal(tid[1]!.query.get('trackerid')?.[0]?.toString(), 'T-42');
  const keys = new Set(log.map((l) => l.query.get('key')?.[0]?.toString()));
  assert.equal(keys.size, 1);
  assert.match([...keys][0] ?? '', /^[0-9a-f]{8}$/);
  assert.equal(log.find((l) => l.name === 'other')?.query.has('trackerid'), false);
});

test('announceAll: every tracker at once, each with its result or its error', async () => {
  const good = await tracker('g', { interval: 60, peers: Buffer.from('7f0000010001', 'hex') });
  const bad = await failing('f');
  const out = await new TrackerSet([[bad], [good]], { random: keepOrder }).announceAll(PARAMS);
  assert.equal(out.length, 2);
  assert.ok('error' in out[0]! && out[0].error.code === 'tracker-failure');
  assert.ok('result' in out[1]! && out[1].result.peers[0]?.port === 1);
});

test('an aborted announce stops the fall-through', async () => {
  const a = await failing('ab');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(new TrackerSet([[a]]).announce({ ...PARAMS, signal: ac.signal }), (e: unknown) => e instanceof TrackerError && e.code === 'tracker-aborted');
});
