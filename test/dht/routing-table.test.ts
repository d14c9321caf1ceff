import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeContact } from '../../src/dht/compact.js';
import { bigIntToId, idToBigInt } from '../../src/dht/node-id.js';
import { MAX_FAILURES, QUESTIONABLE_AFTER_MS, RoutingTable } from '../../src/dht/routing-table.js';

const MIN = 60_000;

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** An id whose top byte is `top` and low bytes `low`, so bucket placement is obvious. */
function id(top: number, low = 0): Uint8Array {
  const out = new Uint8Array(20);
  out[0] = top;
  out[19] = low;
  out[18] = low >> 8;
  return out;
}

function contact(i: Uint8Array, port = 1000 + i[19]! + i[0]! * 7): NodeContact {
  return { id: i, host: '127.0.0.1', port };
}

const OWN = id(0x00, 1);

describe('RoutingTable', () => {
  it('adds up to K nodes into the first bucket, then splits it because it holds our id', () => {
    const clock = fakeClock();
    const table = new RoutingTable(OWN, { now: clock.now });
    // Eight far nodes (top bit set) fill the single bucket.
    for (let i = 0; i < 8; i++) assert.equal(table.noteResponse(contact(id(0x80 + i))).kind, 'added');
    assert.equal(table.bucketCount(), 1);
    // A near node forces a split: the far half keeps the 8, the near half takes the newcomer.
    assert.equal(table.noteResponse(contact(id(0x01))).kind, 'added');
    assert.equal(table.bucketCount(), 2);
    assert.equal(table.size(), 9);
  });

  it('never splits a full bucket that does not hold our id: the newcomer is discarded while all are good', () => {
    const clock = fakeClock();
    const table = new RoutingTable(OWN, { now: clock.now });
    for (let i = 0; i < 8; i++) table.noteResponse(contact(id(0x80 + i)));
    table.noteResponse(contact(id(0x01)));
    assert.deepEqual(table.noteResponse(contact(id(0x90))), { kind: 'discarded' });
    assert.equal(table.bucketCount(), 2);
    assert.equal(table.size(), 9);
  });

  it('splits repeatedly toward our id, bounded by the id length', () => {
    const table = new RoutingTable(OWN, { now: fakeClock().now });
    for (let low = 2; low < 200; low++) table.noteResponse(contact(id(0, low), 2000 + low));
    assert.ok(table.bucketCount() > 5 && table.bucketCount() <= 161);
    assert.ok(table.size() >= 8);
  });

  it('rejects our own id and a known id answering from another address', () => {
    const table = new RoutingTable(OWN, { now: fakeClock().now });
    assert.equal(table.noteResponse(contact(OWN)).kind, 'rejected');
    table.noteResponse({ id: id(0x40), host: '127.0.0.1', port: 1 });
    assert.equal(table.noteResponse({ id: id(0x40), host: '127.0.0.2', port: 1 }).kind, 'rejected');
    assert.equal(table.noteResponse({ id: id(0x40), host: '127.0.0.1', port: 1 }).kind, 'updated');
  });

  it('tracks good → questionable after 15 minutes → good again after a query, → bad after failures', () => {
    const clock = fakeClock();
    const table = new RoutingTable(OWN, { now: clock.now });
    const n = id(0x40);
    table.noteResponse(contact(n));
    const entry = table.get(n)!;
    assert.equal(table.status(entry), 'good');
    clock.advance(QUESTIONABLE_AFTER_MS - 1);
    assert.equal(table.status(entry), 'good');
    clock.advance(1);
    assert.equal(table.status(entry), 'questionable');
    table.noteQuery(n);
    assert.equal(table.status(entry), 'good');
    for (let i = 0; i < MAX_FAILURES - 1; i++) table.noteFailure(n);
    assert.notEqual(table.status(entry), 'bad');
    table.noteFailure(n);
    assert.equal(table.status(entry), 'bad');
    // A response clears the failures.
    table.noteResponse(contact(n));
    assert.equal(table.status(table.get(n)!), 'good');
  });

  it('a full bucket with a questionable node asks for a ping and replaces it once it fails twice', () => {
    const clock = fakeClock();
    const table = new RoutingTable(OWN, { now: clock.now });
    for (let i = 0; i < 8; i++) table.noteResponse(contact(id(0x80 + i)));
    table.noteResponse(contact(id(0x01)));
    clock.advance(QUESTIONABLE_AFTER_MS + MIN);
    // Refresh all far nodes except 0x83, which stays questionable.
    for (let i = 0; i < 8; i++) if (i !== 3) table.noteResponse(contact(id(0x80 + i)));
    const newcomer = contact(id(0xf0));
    const result = table.noteResponse(newcomer);
    assert.equal(result.kind, 'ping');
    assert.ok(result.kind === 'ping' && idToBigInt(result.questionable.id) === idToBigInt(id(0x83)));
    assert.equal(table.noteFailure(id(0x83)), undefined);
    const replaced = table.noteFailure(id(0x83));
    assert.ok(replaced !== undefined && idToBigInt(replaced.id) === idToBigInt(newcomer.id));
    assert.equal(table.get(id(0x83)), undefined);
    assert.ok(table.get(newcomer.id) !== undefined);
  });

  it('a questionable node that answers the ping stays, and the newcomer is not added', () => {
    const clock = fakeClock();
    const table = new RoutingTable(OWN, { now: clock.now });
    for (let i = 0; i < 8; i++) table.noteResponse(contact(id(0x80 + i)));
    table.noteResponse(contact(id(0x01)));
    clock.advance(QUESTIONABLE_AFTER_MS);
    const result = table.noteResponse(contact(id(0xf0)));
    assert.equal(result.kind, 'ping');
    assert.ok(result.kind === 'ping');
    table.noteResponse(result.questionable);
    assert.equal(table.get(id(0xf0)), undefined);
    assert.equal(table.size(), 9);
  });

  it('a bad node is replaced at once by the next newcomer', () => {
    const table = new RoutingTable(OWN, { now: fakeClock().now });
    for (let i = 0; i < 8; i++) table.noteResponse(contact(id(0x80 + i)));
    table.noteResponse(contact(id(0x01)));
    for (let f = 0; f < MAX_FAILURES; f++) table.noteFailure(id(0x85));
    const result = table.noteResponse(contact(id(0xf1)));
    assert.equal(result.kind, 'replaced');
    assert.ok(result.kind === 'replaced' && idToBigInt(result.removed.id) === idToBigInt(id(0x85)));
  });

  it('closest() orders by XOR distance and skips bad nodes', () => {
    const table = new RoutingTable(OWN, { now: fakeClock().now });
    for (const top of [0x10, 0x20, 0x30, 0x40, 0x50]) table.noteResponse(contact(id(top)));
    const target = id(0x31);
    assert.deepEqual(
      table.closest(target, 3).map((c) => c.id[0]),
      [0x30, 0x20, 0x10],
    );
    for (let f = 0; f < MAX_FAILURES; f++) table.noteFailure(id(0x30));
    assert.deepEqual(
      table.closest(target, 2).map((c) => c.id[0]),
      [0x20, 0x10],
    );
  });

  it('wouldAccept() reflects room, splittability and known ids', () => {
    const table = new RoutingTable(OWN, { now: fakeClock().now });
    assert.equal(table.wouldAccept(OWN), false);
    for (let i = 0; i < 8; i++) table.noteResponse(contact(id(0x80 + i)));
    assert.equal(table.wouldAccept(id(0x80)), false);
    assert.equal(table.wouldAccept(id(0x01)), true);
    table.noteResponse(contact(id(0x01)));
    assert.equal(table.wouldAccept(id(0xf0)), false);
  });

  it('refreshTargets() names a random id inside each bucket idle for 15 minutes, once', () => {
    const clock = fakeClock();
    const table = new RoutingTable(OWN, { now: clock.now });
    for (let i = 0; i < 8; i++) table.noteResponse(contact(id(0x80 + i)));
    table.noteResponse(contact(id(0x01)));
    assert.deepEqual(table.refreshTargets(() => new Uint8Array(24).fill(0xff)), []);
    clock.advance(QUESTIONABLE_AFTER_MS);
    const targets = table.refreshTargets(() => new Uint8Array(24).fill(0xab));
    assert.equal(targets.length, 2);
    const values = targets.map(idToBigInt).sort((a, b) => (a < b ? -1 : 1));
    assert.ok(values[0]! < 1n << 159n && values[1]! >= 1n << 159n);
    assert.deepEqual(table.refreshTargets(() => new Uint8Array(24)), []);
  });

  it('id conversions round-trip', () => {
    const v = (1n << 159n) + 12345n;
    assert.equal(idToBigInt(bigIntToId(v)), v);
  });
});
