/**
 * fast-check over what a hostile peer can send to the upload side and to ut_metadata, on a
 * fake clock: any sequence of requests, chokes, unchokes and pauses keeps the upload queue
 * bounded and closes the connection exactly when the choked-request limit is passed; any
 * stream of ut_metadata requests gets at most the burst plus one answer per refill period.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { PeerConnection } from '../../src/peer/connection.js';
import { Extensions, LOCAL_METADATA_ID } from '../../src/swarm/extensions.js';
import { SwarmPeer } from '../../src/swarm/swarm-peer.js';
import { MAX_CHOKED_REQUESTS, Uploader } from '../../src/swarm/upload.js';
import { Bitfield } from '../../src/util/bitfield.js';
import { decodeExtendedHandshake, encodeExtendedHandshake, encodeUtMetadata, decodeUtMetadata, type Message } from '../../src/wire/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

const PIECES = 8;
const PIECE = 64 * 1024;

/** The part of a connection the upload side and the extensions touch; a full socket never drains. */
function fakeConn(): { conn: PeerConnection; sent: Message[]; closed: () => string | undefined } {
  const sent: Message[] = [];
  const c = {
    address: { host: '10.1.2.3', port: 6881 },
    state: 'active',
    amChoking: true,
    closeReason: undefined as string | undefined,
    writableLength: 4 << 20,
    send: (m: Message) => (sent.push(m), true),
    batch: (fn: () => void) => fn(),
    sendPiece: () => true,
    onDrain: () => undefined,
    close(reason: string) {
      if (c.state === 'closed') return;
      c.state = 'closed';
      c.closeReason = reason;
    },
  };
  return { conn: c as unknown as PeerConnection, sent, closed: () => c.closeReason };
}

type Op = { t: 'request'; index: number } | { t: 'choke' } | { t: 'unchoke' } | { t: 'wait'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 20, arbitrary: fc.nat(PIECES + 2).map((index) => ({ t: 'request' as const, index })) },
  { weight: 1, arbitrary: fc.constant({ t: 'choke' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'unchoke' as const }) },
  { weight: 2, arbitrary: fc.nat(5000).map((ms) => ({ t: 'wait' as const, ms })) },
);

describe('hostile input, fuzzed', () => {
  test('upload side: queue bounded, closed exactly past the choked-request limit', () => {
    fc.assert(
      // `stubborn`: we never unchoke it, so long runs reach the limit.
      fc.property(fc.array(op, { maxLength: 3000 }), fc.boolean(), fc.boolean(), (ops, fast, stubborn) => {
        const clock = new FakeClock();
        const have = new Bitfield(PIECES);
        have.setAll();
        const up = new Uploader({
          infoHash: Buffer.alloc(20),
          pieceCount: PIECES,
          have,
          pieceSize: () => PIECE,
          read: async () => Buffer.alloc(PIECE),
          onDiskError: () => undefined,
          clock,
        });
        const { conn, closed } = fakeConn();
        const p = new SwarmPeer(1, conn, PIECES, clock.now());
        p.fast = fast;
        // The model: requests while choked, counted once the grace after a choke is over.
        let counted = 0;
        let chokedAt = -Infinity;
        const state = (): string => conn.state;
        for (const o of ops) {
          if (state() === 'closed') break;
          if (o.t === 'wait') clock.advance(o.ms);
          else if (o.t === 'choke' && !conn.amChoking) {
            conn.amChoking = true;
            up.onChoke(p);
            chokedAt = clock.now();
          } else if (o.t === 'unchoke' && conn.amChoking && !stubborn) {
            conn.amChoking = false;
            up.onUnchoke(p);
            counted = 0;
          } else if (o.t === 'request') {
            if (conn.amChoking && clock.now() - chokedAt >= 2000) counted++;
            up.onRequest(p, o.index, 0, 16384);
            assert.equal(state() === 'closed', counted > MAX_CHOKED_REQUESTS, `closed ${closed()} with ${counted} counted`);
          }
          assert.ok(p.uploadQueue.length <= 2000, `upload queue ${p.uploadQueue.length}`);
        }
        if (state() === 'closed') assert.equal(closed(), 'too many requests while choked');
      }),
      { numRuns: 200 },
    );
  });

  test('ut_metadata: at most the burst, then one answer per refill period', () => {
    const info = Buffer.alloc(40_000, 7);
    const pieces = Math.ceil(info.length / 16384);
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(pieces - 1), fc.nat(20_000).map((ms) => -1 - ms)), { maxLength: 400 }), (ops) => {
        const clock = new FakeClock();
        const ext = new Extensions(
          { pieceCount: 1, setPeerRequestLimit: () => undefined, addPexPeers: () => undefined, connectedPeers: () => [], finished: false },
          { pex: false, infoBytes: info, listenPort: undefined, now: () => clock.now() },
        );
        const { conn, sent } = fakeConn();
        const p = new SwarmPeer(1, conn, 1, clock.now());
        ext.onMessage(p, 0, encodeExtendedHandshake({ m: new Map([['ut_metadata', 3]]) }));
        const start = clock.now();
        for (const o of ops) {
          if (o < 0) clock.advance(-1 - o);
          else ext.onMessage(p, LOCAL_METADATA_ID, encodeUtMetadata({ type: 'request', piece: o }));
        }
        const answers = sent.filter((m) => m.type === 'extended' && decodeUtMetadata(m.payload, info.length).type === 'data').length;
        const requests = ops.filter((o) => o >= 0).length;
        assert.ok(answers <= requests);
        assert.ok(answers <= 2 * pieces + 2 + Math.floor((clock.now() - start) / 5000), `${answers} answers in ${clock.now() - start} ms`);
        assert.equal(sent.length, requests, 'every request gets one answer: data or reject');
      }),
      { numRuns: 300 },
    );
  });
});

describe('BEP 10 yourip', () => {
  test("our handshake tells the peer the address we see it at; the peer's yourip is a vote that names the peer as its source", () => {
    const votes: string[] = [];
    const ext = new Extensions(
      { pieceCount: 1, setPeerRequestLimit: () => undefined, addPexPeers: () => undefined, connectedPeers: () => [], finished: false },
      { pex: false, infoBytes: undefined, listenPort: 6881, now: () => 0, onYourIp: (address, from) => votes.push(`${address} from ${from}`) },
    );
    const { conn, sent } = fakeConn();
    const p = new SwarmPeer(1, conn, 1, 0);
    ext.sendHandshake(p);
    const ours = sent[0];
    assert.ok(ours?.type === 'extended');
    assert.equal(decodeExtendedHandshake(ours.payload).yourip, '10.1.2.3');
    ext.onMessage(p, 0, encodeExtendedHandshake({ m: new Map(), yourip: '::ffff:203.0.113.7' }));
    ext.onMessage(p, 0, encodeExtendedHandshake({ m: new Map() }));
    assert.deepEqual(votes, ['203.0.113.7 from 10.1.2.3']);
  });
});
