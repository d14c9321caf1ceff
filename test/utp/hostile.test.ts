/**
 * Hostile packets against a live uTP connection: ACKs of data never sent, huge windows,
 * forged and repeated FINs, sequence numbers outside the window, a flood of out-of-order
 * data, and (fast-check) any sequence of random packets, which may close the connection
 * but never throws, grows memory past its bounds or keeps it from closing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PACKET_BYTES, RECV_WINDOW, type UtpConnection } from '../../src/utp/connection.js';
import { decodePacket, encodePacket, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN, type PacketType, type UtpHeader } from '../../src/utp/packet.js';
import { UtpSim } from '../helpers/utp-sim.js';

/** A connected pair, and the numbers a forger toward B needs: B's id, the next seq B expects, what B has sent. */
function connected(): { sim: UtpSim; lastBSeq: () => number; lastASeq: () => number } {
  let aSeq = 0;
  let bSeq = 0;
  const sim = new UtpSim({
    delayMs: 2,
    tamper: (p, from) => {
      const h = decodePacket(p);
      if (from === 'a' && h.type === ST_DATA) aSeq = h.seq;
      if (from === 'b') bSeq = h.seq;
      return p;
    },
  });
  sim.connect();
  sim.run(20);
  sim.a.conn!.write(Buffer.from('hello'));
  sim.run(20);
  return { sim, lastASeq: () => aSeq, lastBSeq: () => bSeq };
}

function toB(sim: UtpSim, h: Partial<UtpHeader> & { type: PacketType }, payload?: Uint8Array, sack?: Uint8Array): void {
  const b = sim.b.conn!;
  sim.inject('b', encodePacket({ connectionId: b.recvId, timestamp: 0, timestampDiff: 0, wndSize: 1 << 20, seq: 0, ack: 0, ...h }, payload, sack));
}

function transferStillWorks(sim: UtpSim): void {
  const before = sim.b.bytes;
  sim.a.conn!.write(Buffer.alloc(50_000, 3));
  sim.run(20_000, () => sim.b.bytes === before + 50_000);
  assert.equal(sim.b.bytes, before + 50_000, 'A to B still flows');
}

describe('uTP connection under hostile packets', () => {
  it('drops a packet that acknowledges data never sent', () => {
    const { sim, lastBSeq, lastASeq } = connected();
    const b = sim.b.conn!;
    b.write(Buffer.alloc(3000, 1));
    const unacked = b.stats().unacked;
    // Carries data too: the whole packet is ignored, not just its ACK.
    toB(sim, { type: ST_DATA, seq: (lastASeq() + 1) & 0xffff, ack: (lastBSeq() + 500) & 0xffff }, Buffer.from('evil'));
    assert.equal(b.stats().unacked, unacked);
    assert.equal(sim.b.bytes, 5);
    transferStillWorks(sim);
  });

  it('caps what it sends by its own window when the peer advertises 4 GiB', () => {
    const { sim, lastBSeq } = connected();
    const b = sim.b.conn!;
    toB(sim, { type: ST_STATE, seq: 0, ack: lastBSeq() - 1, wndSize: 0xffffffff });
    b.write(Buffer.alloc(900_000, 1));
    assert.ok(b.stats().inFlight <= b.stats().cwnd + PACKET_BYTES, JSON.stringify(b.stats()));
    assert.ok(b.stats().inFlight < 100_000);
  });

  it('ignores a FIN outside the window, and a second FIN at another sequence number', () => {
    const { sim, lastASeq, lastBSeq } = connected();
    toB(sim, { type: ST_FIN, seq: (lastASeq() + 30_000) & 0xffff, ack: lastBSeq() - 1 });
    assert.equal(sim.b.ended, false);
    toB(sim, { type: ST_FIN, seq: (lastASeq() + 3) & 0xffff, ack: lastBSeq() - 1 });
    toB(sim, { type: ST_FIN, seq: (lastASeq() + 2) & 0xffff, ack: lastBSeq() - 1 });
    assert.equal(sim.b.ended, false, 'the FIN waits for the data before it');
    // The real next packets fill the gap: the first FIN (seq + 3) ends the stream, the second was ignored.
    toB(sim, { type: ST_DATA, seq: (lastASeq() + 1) & 0xffff, ack: lastBSeq() - 1 }, Buffer.from('a'));
    assert.equal(sim.b.ended, false);
    toB(sim, { type: ST_DATA, seq: (lastASeq() + 2) & 0xffff, ack: lastBSeq() - 1 }, Buffer.from('b'));
    assert.equal(sim.b.ended, true);
    assert.equal(Buffer.concat(sim.b.received).toString(), 'helloab');
  });

  it('keeps no data from beyond its window, and bounds the reorder buffer by the window', () => {
    const { sim, lastASeq, lastBSeq } = connected();
    const b = sim.b.conn!;
    toB(sim, { type: ST_DATA, seq: (lastASeq() + 5000) & 0xffff, ack: lastBSeq() - 1 }, Buffer.alloc(1000));
    assert.equal(b.stats().reorderBytes, 0);
    const big = Buffer.alloc(60_000);
    for (let i = 2; i < 1100; i++) toB(sim, { type: ST_DATA, seq: (lastASeq() + i) & 0xffff, ack: lastBSeq() - 1 }, big);
    assert.ok(b.stats().reorderBytes <= RECV_WINDOW, `reorder buffer ${b.stats().reorderBytes}`);
    assert.equal(b.state, 'connected');
  });

  it('random packets never throw and never push memory past the bounds', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const packet = fc.record({
      type: fc.constantFrom<PacketType>(ST_DATA, ST_FIN, ST_STATE, ST_RESET, ST_SYN),
      seqOffset: fc.oneof(fc.integer({ min: -5, max: 40 }), u16),
      ackOffset: fc.oneof(fc.integer({ min: -5, max: 40 }), u16),
      wndSize: fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
      timestampDiff: fc.integer({ min: 0, max: 0xffffffff }),
      payload: fc.integer({ min: 0, max: 1400 }),
      sack: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 60 }), (packets) => {
        const { sim, lastASeq, lastBSeq } = connected();
        const b: UtpConnection = sim.b.conn!;
        b.write(Buffer.alloc(20_000, 1));
        for (const p of packets) {
          toB(sim, { type: p.type, seq: (lastASeq() + p.seqOffset) & 0xffff, ack: (lastBSeq() + p.ackOffset) & 0xffff, wndSize: p.wndSize, timestampDiff: p.timestampDiff }, Buffer.alloc(p.payload), p.sack);
          const s = b.stats();
          assert.ok(s.reorderBytes <= RECV_WINDOW);
          assert.ok(s.unacked <= 1024);
          assert.ok(s.inFlight <= (2 << 20) + PACKET_BYTES);
          assert.ok(s.cwnd >= PACKET_BYTES);
        }
        sim.run(100);
        // Whatever happened, it is not wedged: a graceful close still ends within the linger bound.
        b.end(true);
        sim.run(15_000, () => b.state === 'closed');
        assert.equal(b.state, 'closed');
      }),
      { numRuns: 300 },
    );
  });
});
