/**
 * raceDialers on fake transports and a fake clock: which attempt carries the connection, when
 * a worse transport that answered first is taken, and how a winner that closes before its
 * first byte hands over to a standby with the same bytes.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { HOLD_MAX_MS, HOLD_MIN_MS, raceDialers } from '../../src/peer/race.js';
import type { DataSink, Dialer } from '../../src/peer/transport.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A transport attempt the test drives: connect, answer, fail. */
class FakeAttempt extends Duplex {
  readonly written: Buffer[] = [];
  constructor(private readonly sink: DataSink) {
    super();
  }
  connectNow(): void {
    this.emit('connect');
  }
  answer(bytes: string): void {
    this.sink(Buffer.from(bytes), false);
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    cb();
  }
  text(): string {
    return Buffer.concat(this.written).toString();
  }
}

/** Dialers named by transport; each remembers the attempts it made. */
function fakeDialers(): { tcp: FakeAttempt[]; utp: FakeAttempt[]; dialers: Dialer[] } {
  const tcp: FakeAttempt[] = [];
  const utp: FakeAttempt[] = [];
  const make = (list: FakeAttempt[]): Dialer => (_address, onData) => {
    const a = new FakeAttempt(onData);
    list.push(a);
    return a;
  };
  return { tcp, utp, dialers: [make(tcp), make(utp)] };
}

const ADDRESS = { host: '127.0.0.1', port: 6881 };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function dial(clock: FakeClock) {
  const f = fakeDialers();
  const got: string[] = [];
  const stream = raceDialers(f.dialers, clock)(ADDRESS, (c) => got.push(c.toString()));
  let connects = 0;
  let error: Error | undefined;
  stream.on('connect', () => connects++);
  stream.on('error', (e: Error) => (error = e));
  return { ...f, stream, got, connects: () => connects, error: () => error, tcp0: f.tcp[0]!, utp0: f.utp[0]! };
}

describe('raceDialers', () => {
  it('takes TCP at once when it connects first, and ends the uTP attempt at its first byte', async () => {
    const clock = new FakeClock();
    const r = dial(clock);
    r.tcp0.connectNow();
    assert.equal(r.connects(), 1);
    r.stream.write('hello');
    await tick();
    assert.equal(r.tcp0.text(), 'hello');
    r.utp0.connectNow();
    assert.equal(r.utp0.destroyed, false, 'uTP stands by until TCP answers');
    r.tcp0.answer('reply');
    assert.deepEqual(r.got, ['reply']);
    assert.equal(r.utp0.destroyed, true);
    assert.equal(r.utp0.text(), '', 'the standby was sent nothing');
  });

  it('holds a uTP connection that came first while TCP may still connect, then takes TCP', async () => {
    const clock = new FakeClock();
    const r = dial(clock);
    clock.advance(30);
    r.utp0.connectNow();
    assert.equal(r.connects(), 0, 'uTP waits for TCP');
    clock.advance(HOLD_MIN_MS - 1);
    r.tcp0.connectNow();
    assert.equal(r.connects(), 1);
    r.stream.write('x');
    await tick();
    assert.equal(r.tcp0.text(), 'x');
    assert.equal(r.utp0.text(), '');
  });

  it('takes uTP once the hold runs out: as long again as uTP took, within its bounds', () => {
    for (const [took, hold] of [[10, HOLD_MIN_MS], [300, 300], [5000, HOLD_MAX_MS]] as const) {
      const clock = new FakeClock();
      const r = dial(clock);
      clock.advance(took);
      r.utp0.connectNow();
      clock.advance(hold - 1);
      assert.equal(r.connects(), 0, `after ${took} ms: still holding at ${hold - 1} ms`);
      clock.advance(1);
      assert.equal(r.connects(), 1, `after ${took} ms: uTP taken at ${hold} ms`);
      r.stream.write('y');
      r.tcp0.connectNow();
      r.utp0.answer('ok');
      assert.equal(r.tcp0.destroyed, true, 'the late TCP attempt is ended by the first byte');
      assert.deepEqual(r.got, ['ok']);
    }
  });

  it('takes uTP at once when TCP fails (a closed port)', async () => {
    const clock = new FakeClock();
    const r = dial(clock);
    r.utp0.connectNow();
    r.tcp0.destroy(new Error('ECONNREFUSED'));
    await tick();
    assert.equal(r.connects(), 1);
    assert.equal(clock.pending, 0, 'no hold timer left');
  });

  it('hands over to uTP, with the same bytes, when TCP closes before answering', async () => {
    const clock = new FakeClock();
    const r = dial(clock);
    r.tcp0.connectNow();
    r.stream.write('handshake');
    await tick();
    assert.equal(r.tcp0.text(), 'handshake');
    // Like libtorrent with incoming TCP off: the connection is accepted and dropped.
    r.tcp0.push(null);
    r.tcp0.destroy();
    await tick();
    assert.equal(r.error(), undefined);
    assert.equal(r.stream.destroyed, false, 'the race waits for the uTP attempt');
    r.stream.write('+more');
    await tick();
    r.utp0.connectNow();
    await tick();
    assert.equal(r.utp0.text(), 'handshake+more');
    r.utp0.answer('peer');
    assert.deepEqual(r.got, ['peer']);
    assert.equal(r.connects(), 1, "the connection saw one 'connect'");
    r.stream.write('!');
    await tick();
    assert.equal(r.utp0.text(), 'handshake+more!');
  });

  it('fails once every attempt has failed', async () => {
    const clock = new FakeClock();
    const r = dial(clock);
    r.tcp0.destroy(new Error('ECONNREFUSED'));
    r.utp0.destroy(new Error('timed out'));
    await tick();
    assert.equal(r.connects(), 0);
    assert.equal(r.stream.destroyed, true);
    assert.match(r.error()?.message ?? '', /timed out|ECONNREFUSED/);
  });

  it('closes when the winner closes after it answered (no hand-over)', async () => {
    const clock = new FakeClock();
    const r = dial(clock);
    r.tcp0.connectNow();
    r.utp0.connectNow();
    r.tcp0.answer('hi');
    r.tcp0.destroy();
    await tick();
    assert.equal(r.stream.destroyed, true);
    assert.equal(r.utp0.destroyed, true);
  });

  it('keeps no copy past its bound: a winner closing after a large write ends the connection', async () => {
    const clock = new FakeClock();
    const r = dial(clock);
    r.tcp0.connectNow();
    r.utp0.connectNow();
    r.stream.write(Buffer.alloc(128 << 10));
    await tick();
    r.tcp0.destroy();
    await tick();
    assert.equal(r.stream.destroyed, true);
    assert.equal(r.utp0.destroyed, true);
    assert.equal(r.utp0.text(), '');
  });
});
