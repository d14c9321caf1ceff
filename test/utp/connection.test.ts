/**
 * The uTP connection state machine on a simulated link and a fake clock: handshake, bulk
 * transfer both ways with FIN, loss and reordering, 16-bit wrap, the receive window, fast
 * retransmit, timeouts and RESET.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RECV_WINDOW } from '../../src/utp/connection.js';
import { decodePacket, encodePacket, ST_DATA, ST_STATE } from '../../src/utp/packet.js';
import { concat, UtpSim } from '../helpers/utp-sim.js';
import { seeded } from '../helpers/random.js';

function data(n: number, seed = 7): Buffer {
  const r = seeded(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

/** Write all of `bytes` from `side`, respecting the send buffer. */
function pump(sim: UtpSim, from: 'a' | 'b', bytes: Buffer, chunk = 16 * 1024): () => boolean {
  let at = 0;
  return () => {
    const conn = sim[from].conn!;
    while (at < bytes.length && conn.state !== 'closed') {
      const ok = conn.write(bytes.subarray(at, at + chunk));
      at += chunk;
      if (!ok) break;
    }
    return at >= bytes.length;
  };
}

/**
 * A sends 200 kB and the link drops one of its data packets; B's packets pass through
 * `fromB`. Returns the simulated milliseconds until B had every byte.
 */
function recoverOneLoss(fromB: (packet: Buffer) => Buffer): number {
  let dropped = false;
  const sim = new UtpSim({
    delayMs: 5,
    tamper: (p, from) => {
      if (from === 'b') return fromB(p);
      if (decodePacket(p).type === ST_DATA && !dropped && sim.a.conn!.stats().unacked > 5) {
        dropped = true;
        return undefined;
      }
      return p;
    },
  });
  sim.connect();
  sim.run(20);
  const up = data(200_000, 6);
  const start = sim.clock.now();
  sim.a.conn!.write(up);
  sim.run(10_000, () => sim.b.bytes === up.length);
  assert.equal(dropped, true);
  assert.ok(concat(sim.b).equals(up));
  return sim.clock.now() - start;
}

describe('uTP connection', () => {
  it('connects: the acceptor receives on the SYN id + 1 and sends on the SYN id', () => {
    const sim = new UtpSim();
    sim.connect(4242);
    sim.run(10);
    assert.equal(sim.a.connected, true);
    assert.equal(sim.a.conn!.recvId, 4242);
    assert.equal(sim.a.conn!.sendId, 4243);
    assert.equal(sim.b.conn!.recvId, 4243);
    assert.equal(sim.b.conn!.sendId, 4242);
    // The acceptor counts as half-open until the initiator sends something.
    assert.equal(sim.b.conn!.halfOpen, true);
    sim.a.conn!.write(Buffer.from('hello'));
    sim.run(10);
    assert.equal(sim.b.connected, true);
    assert.equal(concat(sim.b).toString(), 'hello');
  });

  it('moves 2 MiB each way at once and closes with both FINs', () => {
    const sim = new UtpSim({ delayMs: 5 });
    sim.connect();
    sim.run(20);
    const up = data(2 << 20, 1);
    const down = data(2 << 20, 2);
    const pa = pump(sim, 'a', up);
    const pb = pump(sim, 'b', down);
    sim.run(60_000, () => {
      pa();
      pb();
      return sim.a.bytes === down.length && sim.b.bytes === up.length;
    });
    assert.ok(concat(sim.b).equals(up));
    assert.ok(concat(sim.a).equals(down));
    sim.a.conn!.end();
    sim.b.conn!.end();
    sim.run(2000);
    assert.equal(sim.a.ended && sim.b.ended, true);
    assert.equal(sim.a.closed, undefined, 'closed without error');
    assert.equal(sim.b.closed, undefined);
  });

  it('survives 3 % loss and 20-50 ms of jittered delay (reordering) byte-identical', () => {
    const sim = new UtpSim({ delayMs: 20, jitterMs: 30, loss: 0.03, seed: 3 });
    sim.connect();
    sim.run(5000, () => sim.a.connected);
    const up = data(1 << 20, 4);
    const pa = pump(sim, 'a', up);
    sim.run(600_000, () => {
      pa();
      return sim.b.bytes >= up.length;
    });
    assert.ok(concat(sim.b).equals(up));
    assert.equal(sim.a.closed, 'no');
  });

  it('wraps sequence numbers past 65535', () => {
    const sim = new UtpSim({ delayMs: 2 });
    sim.connect(1000, () => 0xffc0);
    sim.run(20);
    const up = data(400 * 1400, 5);
    const pa = pump(sim, 'a', up);
    sim.run(60_000, () => {
      pa();
      return sim.b.bytes >= up.length;
    });
    assert.ok(concat(sim.b).equals(up));
  });

  it('stops at a closed receive window and resumes when the reader catches up', () => {
    const sim = new UtpSim({ delayMs: 2 });
    sim.connect();
    sim.run(20);
    sim.b.unread = RECV_WINDOW;
    sim.a.conn!.write(Buffer.alloc(1));
    sim.run(50);
    sim.b.unread = RECV_WINDOW; // the byte above counts against the window as well
    const before = concat(sim.b).length;
    sim.a.conn!.write(data(100_000));
    sim.run(200);
    assert.equal(concat(sim.b).length, before, 'nothing more while the window is closed');
    sim.b.unread = 0;
    sim.b.conn!.readConsumed();
    sim.run(5000, () => sim.b.bytes === before + 100_000);
    assert.equal(concat(sim.b).length, before + 100_000);
  });

  it('resends one lost packet on duplicate / selective ACKs, long before the RTO', () => {
    const ms = recoverOneLoss((p) => p);
    assert.ok(ms < 400, `recovered in ${ms} ms of simulated time`);
  });

  it('acts on selective ACKs cut to the bytes they need, as libtorrent sends them', () => {
    let shortSacks = 0;
    const ms = recoverOneLoss((p) => {
      const h = decodePacket(p);
      if (h.type !== ST_STATE || h.sack === undefined) return p;
      let used = h.sack.length;
      while (used > 1 && h.sack[used - 1] === 0) used--;
      if (used % 4 !== 0) shortSacks++;
      return encodePacket(h, undefined, h.sack.subarray(0, used));
    });
    assert.ok(shortSacks > 0, 'B sent selective ACKs of other lengths than multiples of 4');
    assert.ok(ms < 400, `recovered in ${ms} ms of simulated time, before any RTO`);
  });

  it('an accepted connection ended before the initiator spoke sends its data and FIN once it has', () => {
    const sim = new UtpSim({ delayMs: 2 });
    sim.connect();
    sim.run(10);
    const b = sim.b.conn!;
    assert.equal(b.state, 'syn-recv');
    b.write(Buffer.from('bye'));
    b.end();
    sim.run(10);
    assert.equal(sim.a.closed, 'no', 'not reset');
    sim.a.conn!.write(Buffer.from('hi'));
    sim.run(100);
    assert.equal(concat(sim.b).toString(), 'hi');
    assert.equal(concat(sim.a).toString(), 'bye');
    assert.equal(sim.a.ended, true);
  });

  it('gives up a SYN nobody answers after three tries', () => {
    const sim = new UtpSim({ tamper: () => undefined });
    sim.connect();
    sim.run(10_000, () => sim.a.closed !== 'no');
    assert.equal(sim.a.closed !== 'no' && sim.a.closed?.code, 'connect-timeout');
    assert.equal(sim.a.sent, 3);
  });

  it('declares a connection dead after repeated timeouts with backoff', () => {
    let cut = false;
    const sim = new UtpSim({ delayMs: 2, tamper: (p) => (cut ? undefined : p) });
    sim.connect();
    sim.run(20);
    cut = true;
    sim.a.conn!.write(data(10_000));
    sim.run(600_000, () => sim.a.closed !== 'no');
    assert.equal(sim.a.closed !== 'no' && sim.a.closed?.code, 'timeout');
    assert.ok(sim.clock.now() - 1_700_000_000_000 > 30_000, 'after backing off');
  });

  it('closes on ST_RESET', () => {
    const sim = new UtpSim();
    sim.connect();
    sim.run(10);
    sim.b.conn!.destroy();
    sim.run(10);
    assert.equal(sim.a.closed !== 'no' && sim.a.closed?.code, 'reset');
    assert.equal(sim.b.closed, undefined);
  });

  it('echoes the one-way delay in timestamp_difference and advertises its window', () => {
    const diffs: number[] = [];
    const windows: number[] = [];
    const sim = new UtpSim({
      delayMs: 7,
      tamper: (p, from) => {
        const h = decodePacket(p);
        if (from === 'b' && h.type === ST_STATE) {
          diffs.push(h.timestampDiff);
          windows.push(h.wndSize);
        }
        return p;
      },
    });
    sim.connect();
    sim.run(20);
    sim.b.unread = 1000;
    sim.a.conn!.write(Buffer.from('x'));
    sim.run(20);
    assert.equal(concat(sim.b).toString(), 'x');
    assert.equal(diffs.at(-1), 7000, 'B saw A\'s packet 7 ms after its timestamp');
    assert.equal(windows.at(-1), RECV_WINDOW - 1000);
  });
});
