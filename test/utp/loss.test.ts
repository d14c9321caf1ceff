/**
 * uTP loss detection and recovery on the fake clock: reordering is not loss, a lost packet is
 * sent again once and halves the window once, a burst inside one window halves it once, the
 * retransmission timer backs off and the connection recovers, and a retransmission's ACK is
 * no RTT sample (Karn).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RttEstimator } from '../../src/utp/congestion.js';
import { PACKET_BYTES } from '../../src/utp/connection.js';
import { decodePacket, ST_DATA, ST_STATE } from '../../src/utp/packet.js';
import { SendQueue } from '../../src/utp/send-queue.js';
import { seeded } from '../helpers/random.js';
import { concat, UtpSim } from '../helpers/utp-sim.js';

interface Link {
  delayMs: number;
  jitterMs?: number;
  /** Drop A's data packet: `index` counts A's data packets from 0 in order of first sending, `nth` its transmissions from 1. */
  drop?: (index: number, nth: number) => boolean;
  /** Hold A's data packet this much longer. */
  extraMs?: (index: number, nth: number) => number;
}

interface Transfer {
  sim: UtpSim;
  /** Transmissions of each of A's data packets, by index. */
  sends: number[];
  /** Selective ACKs from B that acknowledged three packets or more past a hole. */
  wideSacks: number;
}

function popcount(mask: Uint8Array): number {
  let n = 0;
  for (const b of mask) for (let v = b; v !== 0; v &= v - 1) n++;
  return n;
}

/** A writes `bytes` random bytes to B over `link`; returns once B has them all (checked byte for byte). */
function transfer(link: Link, bytes = 1 << 20): Transfer {
  const sends: number[] = [];
  const indexOf = new Map<number, number>();
  let wideSacks = 0;
  const dataIndex = (p: Buffer): number | undefined => {
    const h = decodePacket(p);
    if (h.type !== ST_DATA) return undefined;
    let i = indexOf.get(h.seq);
    if (i === undefined) {
      i = sends.length;
      indexOf.set(h.seq, i);
      sends.push(0);
    }
    return i;
  };
  const sim = new UtpSim({
    delayMs: link.delayMs,
    ...(link.jitterMs !== undefined ? { jitterMs: link.jitterMs, seed: 11 } : {}),
    tamper: (p, from) => {
      if (from === 'b') {
        const h = decodePacket(p);
        if (h.type === ST_STATE && h.sack !== undefined && popcount(h.sack) >= 3) wideSacks++;
        return p;
      }
      const i = dataIndex(p);
      if (i === undefined) return p;
      sends[i]!++;
      return link.drop?.(i, sends[i]!) === true ? undefined : p;
    },
    extraDelay: (p, from) => {
      if (from === 'b' || link.extraMs === undefined) return 0;
      const i = indexOf.get(decodePacket(p).seq);
      return i === undefined ? 0 : link.extraMs(i, sends[i]!);
    },
  });
  sim.connect();
  sim.run(1000, () => sim.a.connected);
  const r = seeded(5);
  const up = Buffer.from(Array.from({ length: bytes }, () => Math.floor(r() * 256)));
  let at = 0;
  sim.run(120_000, () => {
    const conn = sim.a.conn!;
    while (at < up.length) {
      const ok = conn.write(up.subarray(at, at + 16384));
      at += 16384;
      if (!ok) break;
    }
    return sim.b.bytes === up.length;
  });
  assert.ok(concat(sim.b).equals(up), 'B received every byte in order');
  assert.equal(sim.a.closed, 'no');
  return { sim, sends, wideSacks };
}

function resent(t: Transfer): number[] {
  return t.sends.flatMap((n, i) => (n > 1 ? [i] : []));
}

describe('uTP loss detection', () => {
  it('takes packets overtaken by several later ones for reordering: no retransmission, no window cut', () => {
    // Every third packet arrives 9 ms late on a 40 ms round trip, behind the packets sent after it.
    const t = transfer({ delayMs: 20, extraMs: (i, nth) => (i % 3 === 0 && nth === 1 ? 9 : 0) });
    assert.ok(t.wideSacks > 0, 'B saw three packets or more ahead of a late one');
    assert.deepEqual(resent(t), []);
    const s = t.sim.a.conn!.stats();
    assert.equal(s.halvings, 0);
    assert.equal(s.timeouts, 0);
  });

  it('takes random jitter inside the reordering window for reordering as well', () => {
    const t = transfer({ delayMs: 20, extraMs: (_i, nth) => (nth === 1 ? ((_i * 7919) % 11) : 0) });
    assert.ok(t.wideSacks > 0, 'packets overtook each other');
    assert.deepEqual(resent(t), []);
    assert.equal(t.sim.a.conn!.stats().halvings, 0);
  });

  it('resends a single lost packet once and halves the window once, without a timeout', () => {
    const t = transfer({ delayMs: 20, drop: (i, nth) => i === 40 && nth === 1 });
    assert.deepEqual(resent(t), [40]);
    assert.equal(t.sends[40], 2);
    const s = t.sim.a.conn!.stats();
    assert.equal(s.halvings, 1);
    assert.equal(s.timeouts, 0);
    assert.equal(s.spurious, 0);
  });

  it('halves the window once for a burst of losses inside one window, each packet resent once', () => {
    const burst = [40, 41, 42, 43, 44, 46];
    const t = transfer({ delayMs: 20, drop: (i, nth) => burst.includes(i) && nth === 1 });
    assert.deepEqual(resent(t), burst);
    for (const i of burst) assert.equal(t.sends[i], 2, `packet ${i} went twice`);
    const s = t.sim.a.conn!.stats();
    assert.equal(s.halvings, 1);
    assert.equal(s.timeouts, 0);
  });

  it('learns from a needless retransmission and widens its reordering window', () => {
    // Every fifth packet arrives a whole round trip late, far outside the first window.
    const t = transfer({ delayMs: 20, extraMs: (i, nth) => (i % 5 === 0 && nth === 1 ? 45 : 0) }, 2 << 20);
    const s = t.sim.a.conn!.stats();
    assert.ok(s.spurious > 0, 'some retransmissions were found needless');
    const late = t.sends.filter((_n, i) => i % 5 === 0).length;
    assert.ok(resent(t).length < late / 2, `${resent(t).length} of ${late} late packets were resent: the window widened`);
  });

  it('backs the timeout off while the path is cut, collapses the window to one packet, and recovers', () => {
    let cut = false;
    const firstSends: number[] = [];
    let victim: number | undefined;
    const sim = new UtpSim({
      delayMs: 20,
      tamper: (p, from) => {
        if (from === 'b' || !cut) return p;
        const h = decodePacket(p);
        victim ??= h.seq;
        if (h.seq === victim) firstSends.push(sim.clock.now());
        return undefined;
      },
    });
    sim.connect();
    sim.run(1000, () => sim.a.connected);
    const a = sim.a.conn!;
    a.write(Buffer.alloc(200_000, 1));
    sim.run(200);
    const baseRto = a.stats().rto;
    cut = true;
    a.write(Buffer.alloc(50_000, 2));
    sim.run(4000);
    const during = a.stats();
    assert.ok(during.timeouts >= 3, `${during.timeouts} timeouts in 4 s`);
    assert.equal(during.cwnd, PACKET_BYTES, 'one packet in flight after a timeout');
    assert.ok(during.rto > baseRto, 'the timeout backed off');
    const gaps = firstSends.slice(1).map((t, i) => t - firstSends[i]!);
    assert.ok(gaps.length >= 2, `the oldest packet went again ${gaps.length} times`);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! >= 1.8 * gaps[i - 1]!, `each wait doubles: ${gaps.join(', ')} ms`);
    cut = false;
    sim.run(60_000, () => sim.b.bytes === 250_000);
    assert.equal(sim.b.bytes, 250_000);
    assert.equal(sim.a.closed, 'no');
    assert.ok(a.stats().timeouts <= during.timeouts + 1, 'one more timeout at most before the path was back');
    // Karn: only packets sent once give samples, so the backoff lasts until new data is acknowledged.
    a.write(Buffer.alloc(300_000, 3));
    sim.run(10_000, () => sim.b.bytes === 550_000);
    assert.equal(sim.b.bytes, 550_000);
    const after = a.stats();
    assert.equal(after.rto, baseRto, 'fresh RTT samples undid the backoff');
    assert.ok(after.cwnd > 4 * PACKET_BYTES, 'the window grew again');
  });
});

describe('uTP send queue', () => {
  function queue(rttMs: number): { q: SendQueue; rtt: RttEstimator } {
    const rtt = new RttEstimator();
    const q = new SendQueue(100, rtt);
    for (let i = 0; i < 8; i++) rtt.sample(rttMs);
    return { q, rtt };
  }

  it('takes no RTT sample from the ACK of a retransmission (Karn)', () => {
    const rtt = new RttEstimator();
    const q = new SendQueue(100, rtt);
    const pkt = q.push(Buffer.alloc(100), 80);
    q.sent(pkt, 0);
    q.markAllLost();
    q.sent(pkt, 1000);
    q.ack(100, undefined, true, 1010);
    assert.equal(rtt.sampled, false);
    assert.equal(q.count, 0);
  });

  it('calls a hole lost only when three later packets are acknowledged and it is older than the loss delay', () => {
    const { q } = queue(40);
    const pkts = Array.from({ length: 6 }, () => q.push(Buffer.alloc(100), 80));
    pkts.forEach((p, i) => q.sent(p, i));
    // Packets 101..103 acknowledged selectively (bits 0..2 stand for ack + 2 ...), 100 missing.
    q.ack(99, Uint8Array.of(0b0111, 0, 0, 0), true, 45);
    assert.equal(q.lossDelay() > 45, true);
    assert.deepEqual(q.detectLoss(45), [], 'overtaken, not yet lost');
    const lost = q.detectLoss(Math.ceil(q.lossDelay()));
    assert.deepEqual(lost, [pkts[0]]);
    assert.deepEqual(q.detectLoss(10_000), [], 'not twice for one transmission');
  });

  it('needs three acknowledged packets past a hole', () => {
    const { q } = queue(40);
    const pkts = Array.from({ length: 4 }, () => q.push(Buffer.alloc(100), 80));
    pkts.forEach((p, i) => q.sent(p, i));
    q.ack(99, Uint8Array.of(0b0011, 0, 0, 0), true, 45);
    assert.deepEqual(q.detectLoss(10_000), []);
  });
});
