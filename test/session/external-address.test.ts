/**
 * The session's external-address store on a fake clock: votes count once per source IP, need a
 * quorum, age out, and cannot grow memory past the bound; a router's answer outranks any
 * number of votes; votes never trade a public address for a local one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExternalAddressStore } from '../../src/session/external-address.js';
import { FakeClock } from '../helpers/fake-clock.js';

function setup(extra: { maxVoters?: number } = {}): { store: ExternalAddressStore; clock: FakeClock; changes: string[] } {
  const clock = new FakeClock();
  const changes: string[] = [];
  const store = new ExternalAddressStore({ clock, quorum: 3, voteTtlMs: 600_000, onChange: (f, a) => changes.push(`${f} ${a}`), ...extra });
  return { store, clock, changes };
}

describe('ExternalAddressStore', () => {
  it('needs three distinct sources: one source voting again and again is one vote', () => {
    const { store, changes } = setup();
    for (let i = 0; i < 10; i++) store.vote('203.0.113.7', '198.51.100.1');
    store.vote('203.0.113.7', '198.51.100.2');
    assert.equal(store.address(4), undefined);
    assert.deepEqual(changes, []);
    store.vote('203.0.113.7', '198.51.100.3');
    assert.equal(store.address(4), '203.0.113.7');
    assert.deepEqual(changes, ['4 203.0.113.7']);
  });

  it('a source that changes its vote moves it; the majority of live votes wins, and a tie keeps the current address', () => {
    const { store } = setup();
    for (const v of ['10.9.0.1', '10.9.0.2', '10.9.0.3']) store.vote('203.0.113.7', v);
    for (const v of ['10.9.0.4', '10.9.0.5', '10.9.0.6']) store.vote('203.0.113.8', v);
    assert.equal(store.address(4), '203.0.113.7', 'a tie keeps what we had');
    store.vote('203.0.113.8', '10.9.0.1');
    assert.equal(store.address(4), '203.0.113.8', '4 against 2');
  });

  it('votes age out: an address the old votes held gives way to the new ones', () => {
    const { store, clock } = setup();
    for (const v of ['10.9.0.1', '10.9.0.2', '10.9.0.3', '10.9.0.4']) store.vote('203.0.113.7', v);
    clock.advance(599_000);
    for (const v of ['10.9.0.5', '10.9.0.6', '10.9.0.7']) store.vote('203.0.113.8', v);
    assert.equal(store.address(4), '203.0.113.7', 'four live votes against three');
    clock.advance(1_000);
    store.vote('203.0.113.8', '10.9.0.8');
    assert.equal(store.address(4), '203.0.113.8', 'the first four expired');
  });

  it('remembers at most maxVoters sources, whatever strangers send', () => {
    const { store } = setup({ maxVoters: 50 });
    for (let i = 0; i < 10_000; i++) store.vote(`198.18.${(i >> 8) & 0xff}.${i & 0xff}`, `100.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`);
    assert.equal(store.voterCount, 50);
  });

  it("the router's answer outranks any number of votes, before and after them", () => {
    const { store, changes } = setup();
    store.fromRouter('192.0.2.7');
    for (let i = 1; i <= 20; i++) store.vote('203.0.113.7', `10.9.0.${i}`);
    assert.equal(store.address(4), '192.0.2.7');
    const late = setup();
    for (let i = 1; i <= 20; i++) late.store.vote('203.0.113.7', `10.9.0.${i}`);
    late.store.fromRouter('192.0.2.7');
    assert.equal(late.store.address(4), '192.0.2.7');
    assert.deepEqual(late.changes, ['4 203.0.113.7', '4 192.0.2.7']);
    assert.deepEqual(changes, ['4 192.0.2.7']);
  });

  it('votes for a local address never replace a public one, but may stand where nothing public is known', () => {
    const { store } = setup();
    for (const v of ['10.9.0.1', '10.9.0.2', '10.9.0.3']) store.vote('203.0.113.7', v);
    for (let i = 4; i < 30; i++) store.vote('192.168.1.20', `10.9.0.${i}`);
    assert.equal(store.address(4), '203.0.113.7');
    const loop = setup();
    for (const v of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) loop.store.vote('127.0.0.1', v);
    assert.equal(loop.store.address(4), '127.0.0.1', 'a loopback network agrees on loopback');
  });

  it('trackers are told public addresses only', () => {
    const { store } = setup();
    assert.deepEqual(store.forTrackers(), {});
    store.fromRouter('10.0.0.138');
    for (const v of ['2001:db8::1', '2001:db8::2', '2001:db8::3']) store.vote('2001:db8:aa::7', v);
    assert.deepEqual(store.forTrackers(), { ipv6: '2001:db8:aa::7' }, 'a router behind another NAT reports a private address: not for trackers');
    store.fromRouter('203.0.113.7');
    assert.deepEqual(store.forTrackers(), { ipv4: '203.0.113.7', ipv6: '2001:db8:aa::7' });
  });

  it('families are apart: a voter speaks only of its own family; nonsense and multicast are ignored', () => {
    const { store } = setup();
    for (const v of ['2001:db8::1', '2001:db8::2', '2001:db8::3']) store.vote('203.0.113.7', v);
    assert.equal(store.address(4), undefined);
    for (const v of ['2001:db8::1', '2001:db8::2', '2001:db8:0::2']) store.vote('2001:DB8:aa::7', v);
    assert.equal(store.address(6), undefined, '::2 and 0::2 are one voter');
    store.vote('2001:db8:aa:0::7', '2001:db8::3');
    assert.equal(store.address(6), '2001:db8:aa::7', 'in canonical text');
    for (const v of ['10.9.0.1', '10.9.0.2', '10.9.0.3']) {
      store.vote('224.0.0.1', v);
      store.vote('not an address', v);
      store.vote('0.0.0.0', v);
    }
    assert.equal(store.address(4), undefined);
  });
});
