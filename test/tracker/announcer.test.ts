/**
 * The announce schedule on a fake clock, against hostile trackers this test starts on
 * loopback: one that fails, one that never answers (HTTP and UDP), one that says `retry in`,
 * and ones that are gone (404, 410, `retry in: never`). Time moves only through the clock;
 * the short real-time waits only let bytes cross a socket.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encode } from '../../src/bencode/index.js';
import type { PeerAddress } from '../../src/metainfo/types.js';
import { Announcer, BACKOFF_BASE_MS, BACKOFF_MAX_MS, STOP_TIMEOUT_MS, type AnnouncerOptions } from '../../src/tracker/announcer.js';
import type { TrackerError } from '../../src/tracker/errors.js';
import { decodeRequest, encodeAnnounceResponse, encodeConnectResponse } from '../../src/tracker/udp-codec.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeUdpTracker } from './fake-udp-tracker.js';

interface Seen {
  /** The `event` parameter ('' for a regular announce) and the fake time it arrived. */
  readonly event: string;
  readonly at: number;
}

interface HttpTracker {
  readonly url: string;
  readonly seen: Seen[];
  /** Requests whose socket closed before we answered them. */
  abandoned: number;
}

const servers: Server[] = [];
const udps: FakeUdpTracker[] = [];
const announcers: Announcer[] = [];
after(async () => {
  await Promise.all(announcers.map((a) => a.stop()));
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await Promise.all(udps.map((u) => u.close()));
});

const OK = encode({ interval: 900, peers: Buffer.from('7f0000011ae1', 'hex') });

/** An HTTP tracker on 127.0.0.1; `reply` answers request n (0-based), or leaves it hanging with undefined. */
async function httpTracker(clock: FakeClock, reply: (n: number, res: ServerResponse) => void): Promise<HttpTracker> {
  const t: { url: string; seen: Seen[]; abandoned: number } = { url: '', seen: [], abandoned: 0 };
  const s = createServer((req: IncomingMessage, res: ServerResponse) => {
    const event = new URL(req.url ?? '/', 'http://x').searchParams.get('event') ?? '';
    const n = t.seen.length;
    t.seen.push({ event, at: clock.now() });
    res.on('close', () => {
      if (!res.writableEnded) t.abandoned++;
    });
    reply(n, res);
  });
  s.on('error', () => undefined);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/announce`;
  return t;
}

const answer = (res: ServerResponse): void => void res.end(OK);
const hang = (): void => undefined;

function announcer(clock: FakeClock, tiers: string[][], extra: Partial<AnnouncerOptions> = {}): { a: Announcer; peers: PeerAddress[]; errors: TrackerError[] } {
  const peers: PeerAddress[] = [];
  const errors: TrackerError[] = [];
  const a = new Announcer({
    tiers,
    infoHash: Buffer.alloc(20, 7),
    peerId: Buffer.from('-TS0001-abcdefghijkl'),
    port: 6881,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 100 }),
    onPeers: (p) => peers.push(...p),
    onError: (_url, e) => errors.push(e),
    tracker: { timeoutMs: 15_000, udpBaseTimeoutMs: 5000, udpMaxRetries: 2 },
    clock,
    random: () => 0.5,
    ...extra,
  });
  announcers.push(a);
  return { a, peers, errors };
}

/** Wait (real time, bounded) for something that depends only on bytes crossing a socket. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** True once `p` settles, checked after letting pending I/O run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await sleep(50);
  return done;
}

describe('announcer on a fake clock', { timeout: 60_000 }, () => {
  test('started, then every interval, completed at once, stopped at the end', async () => {
    const clock = new FakeClock();
    const t = await httpTracker(clock, (_n, res) => answer(res));
    const { a, peers } = announcer(clock, [[t.url]]);
    a.start();
    await until(() => peers.length === 1, 'the first answer');
    assert.deepEqual(peers, [{ host: '127.0.0.1', port: 6881 }]);
    clock.advance(899_999);
    await sleep(50);
    assert.equal(t.seen.length, 1, 'nothing before the interval');
    clock.advance(1);
    await until(() => t.seen.length === 2, 'the regular announce');
    a.complete();
    await until(() => t.seen.length === 3, 'completed');
    await a.stop();
    assert.deepEqual(
      t.seen.map((s) => s.event),
      ['started', '', 'completed', 'stopped'],
    );
  });

  test('a failing tracker is retried with exponential back-off and jitter, up to 30 min', async () => {
    const clock = new FakeClock();
    const t = await httpTracker(clock, (_n, res) => void res.writeHead(500).end('down'));
    let r = 0;
    const { a } = announcer(clock, [[t.url]], { random: () => r });
    const delays: number[] = [];
    a.start();
    for (let n = 1; n <= 8; n++) {
      await until(() => a.status()[0]!.failures === n, `failure ${n}`);
      const retryAt = a.status()[0]!.retryAt!;
      const delay = retryAt - t.seen[n - 1]!.at;
      delays.push(delay);
      const factor = 0.75 + 0.5 * r;
      assert.equal(delay, Math.round(Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (n - 1)) * factor), `delay after failure ${n}`);
      r = n % 2 === 0 ? 0 : 0.999;
      clock.advance(retryAt - clock.now() - 1);
      await sleep(30);
      assert.equal(t.seen.length, n, `no retry before the back-off ends (failure ${n})`);
      clock.advance(1);
      await until(() => t.seen.length === n + 1, `retry ${n}`);
    }
    assert.ok(delays[7]! <= BACKOFF_MAX_MS * 1.25, 'capped');
    assert.notEqual(delays[6]! / BACKOFF_MAX_MS, delays[7]! / BACKOFF_MAX_MS, 'jitter moves capped delays too');
    await a.stop();
    assert.equal(t.seen.filter((s) => s.event === 'stopped').length, 0, 'never answered: not told stopped');
  });

  test("'retry in' minutes is honoured instead of the back-off", async () => {
    const clock = new FakeClock();
    const t = await httpTracker(clock, (n, res) =>
      n === 0 ? void res.end(encode({ 'failure reason': 'busy', 'retry in': 7 })) : answer(res),
    );
    const { a, errors } = announcer(clock, [[t.url]]);
    a.start();
    await until(() => errors.length === 1, 'the failure');
    assert.equal(errors[0]!.retryIn, 7);
    clock.advance(7 * 60_000 - 1);
    await sleep(50);
    assert.equal(t.seen.length, 1);
    clock.advance(1);
    await until(() => t.seen.length === 2, 'the retry at 7 min');
    assert.equal(t.seen[1]!.event, 'started', 'it never answered: the retry is still started');
  });

  test('404, 410 and retry-in-never end a tracker for the session; it is not told stopped', async () => {
    const clock = new FakeClock();
    const gone404 = await httpTracker(clock, (_n, res) => void res.writeHead(404).end(encode({ 'failure reason': 'no such torrent' })));
    const gone410 = await httpTracker(clock, (_n, res) => void res.writeHead(410).end());
    const never = await httpTracker(clock, (_n, res) => void res.end(encode({ 'failure reason': 'banned', 'retry in': 'never' })));
    const good = await httpTracker(clock, (_n, res) => answer(res));
    const { a, peers } = announcer(clock, [[gone404.url], [gone410.url], [never.url], [good.url]]);
    a.start();
    await until(() => peers.length === 1, 'the working tracker answers');
    for (let i = 0; i < 4; i++) {
      clock.advance(900_000);
      await until(() => peers.length === i + 2, `regular announce ${i + 2}`);
    }
    await a.stop();
    for (const t of [gone404, gone410, never]) assert.deepEqual(t.seen.map((s) => s.event), ['started'], t.url);
    assert.deepEqual(a.status().map((s) => s.gone), [true, true, true, false]);
    assert.equal(good.seen.at(-1)!.event, 'stopped');
  });

  test('when every tracker is gone, nothing is scheduled', async () => {
    const clock = new FakeClock();
    const t = await httpTracker(clock, (_n, res) => void res.writeHead(410).end());
    const { a, errors } = announcer(clock, [[t.url]]);
    a.start();
    await until(() => errors.length === 1, 'the 410');
    assert.equal(errors[0]!.gone, true);
    assert.equal(clock.pending, 0, 'no timer left');
    clock.advance(24 * 3600_000);
    await sleep(50);
    assert.equal(t.seen.length, 1);
    assert.equal(await settled(a.stop()), true, 'stop needs no time');
  });

  test('an HTTP tracker that never answers times out on the clock and backs off', async () => {
    const clock = new FakeClock();
    const t = await httpTracker(clock, hang);
    const { a, errors } = announcer(clock, [[t.url]]);
    a.start();
    await until(() => t.seen.length === 1, 'the request arrives');
    clock.advance(14_999);
    await sleep(50);
    assert.equal(errors.length, 0);
    clock.advance(1);
    await until(() => errors.length === 1, 'the timeout');
    assert.equal(errors[0]!.code, 'tracker-timeout');
    await until(() => t.abandoned === 1, 'the request socket is closed');
    assert.equal(a.status()[0]!.retryAt, clock.now() + BACKOFF_BASE_MS);
  });

  test('stop is bounded: a hanging `stopped` is abandoned after the stop timeout', async () => {
    const clock = new FakeClock();
    const t = await httpTracker(clock, (n, res) => (n === 0 ? answer(res) : hang()));
    const { a, peers } = announcer(clock, [[t.url]]);
    a.start();
    await until(() => peers.length === 1, 'the first answer');
    const stopping = a.stop();
    await until(() => t.seen.length === 2, 'stopped is sent');
    assert.equal(t.seen[1]!.event, 'stopped');
    clock.advance(STOP_TIMEOUT_MS - 1);
    assert.equal(await settled(stopping), false, 'still waiting for the tracker');
    clock.advance(1);
    assert.equal(await settled(stopping), true, 'given up at the stop timeout');
    await until(() => t.abandoned === 1, 'the stopped request is aborted');
  });

  test('stop during a hanging first announce returns at once and tells nothing', async () => {
    const clock = new FakeClock();
    const t = await httpTracker(clock, hang);
    const { a } = announcer(clock, [[t.url]]);
    a.start();
    await until(() => t.seen.length === 1, 'started is in flight');
    assert.equal(await settled(a.stop()), true, 'no clock time needed');
    await until(() => t.abandoned === 1, 'the started request is aborted');
    assert.equal(t.seen.length, 1, 'no stopped to a tracker that never answered');
  });

  test('a UDP tracker that never answers: retransmits on the clock, then backs off; stop is bounded', async () => {
    const clock = new FakeClock();
    const u = await FakeUdpTracker.start();
    udps.push(u);
    let answering = true;
    u.handler = (packet, _from, send) => {
      if (!answering) return;
      const req = decodeRequest(packet);
      if (req.action === 'connect') send(encodeConnectResponse(req.transactionId, 5n));
      else if (req.action === 'announce') send(encodeAnnounceResponse({ transactionId: req.transactionId, interval: 900, leechers: 0, seeders: 1, peers: [] }, 4));
    };
    const { a, errors } = announcer(clock, [[u.url]]);
    a.start();
    await until(() => a.status()[0]!.announced, 'the first announce');
    answering = false;
    clock.advance(900_000);
    // BEP 15 with base 5 s and two retries: tries at 0, 5 and 15 s; given up at 35 s.
    await until(() => u.received.length === 3, 'the regular announce: a connect, the id has expired');
    for (const [advance, count] of [
      [5000, 4],
      [10_000, 5],
    ] as const) {
      clock.advance(advance);
      await until(() => u.received.length === count, `retransmission ${count}`);
    }
    clock.advance(19_999);
    await sleep(50);
    assert.equal(errors.length, 0);
    clock.advance(1);
    await until(() => errors.length === 1, 'the UDP timeout');
    assert.equal(errors[0]!.code, 'tracker-timeout');
    const stopping = a.stop();
    await until(() => u.received.length === 6, 'stopped is tried');
    clock.advance(STOP_TIMEOUT_MS);
    assert.equal(await settled(stopping), true, 'stop gives up on a silent UDP tracker');
  });
});
