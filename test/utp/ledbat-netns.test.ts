/**
 * LEDBAT yields to TCP (BEP 29): a sender and a receiver namespace joined through a router
 * namespace by veth pairs, the router's link towards the receiver capped with `tc tbf`
 * (8 Mbit/s, up to 300 ms of queue). The queue sits in the router, not in the sender's own
 * qdisc, where TCP small queues would hold TCP to a couple of packets. A uTP flow runs alone first,
 * then a TCP flow joins it over the same link. TCP fills the queue, the delay our uTP packets
 * see climbs past LEDBAT's 100 ms target, and uTP backs off: TCP keeps most of the link. The
 * uTP ends are Tessera's own (test/helpers/ledbat-flow.ts), so the congestion control measured
 * is ours. The shares are printed (about 80 % for TCP on a quiet machine); the assertion is
 * only that TCP gets more than half, since a loaded machine delays the flows' processes.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type Proc, run, sleep, startProc } from '../helpers/proc.js';

const SEND = `tsle${process.pid}s`;
const ROUTER = `tsle${process.pid}m`;
const RECV = `tsle${process.pid}r`;
const RECV_ADDR = '10.78.2.2';
const PORT = 7000;
const flow = fileURLToPath(new URL('../helpers/ledbat-flow.js', import.meta.url));
/** The link: tbf on the sender's egress. */
const RATE = '8mbit';
const LINK_BYTES_PER_S = 1_000_000;
/** uTP alone, then both; the shares are measured from SETTLE_MS after TCP joined to the end. */
const UTP_ALONE_MS = 2000;
const SETTLE_MS = 2000;
const RECEIVE_MS = 14_000;

interface Sample {
  t: number;
  tcp: number;
  utp: number;
}

const ip = (...args: string[]): Promise<Proc> => run('ip', args, 10_000);
const inNs = (ns: string, name: string, args: string[]): Proc => startProc(name, 'ip', ['netns', 'exec', ns, process.execPath, flow, ...args]);

describe('LEDBAT yields to TCP on a link capped with tc tbf', { timeout: 90_000 }, () => {
  const made: string[] = [];
  const procs: Proc[] = [];

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'network namespaces need root');
    for (const ns of [SEND, ROUTER, RECV]) {
      await ip('netns', 'add', ns);
      made.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    await ip('-n', SEND, 'link', 'add', 'ls0', 'type', 'veth', 'peer', 'name', 'lm0', 'netns', ROUTER);
    await ip('-n', ROUTER, 'link', 'add', 'lm1', 'type', 'veth', 'peer', 'name', 'lr0', 'netns', RECV);
    for (const [ns, dev, addr] of [
      [SEND, 'ls0', '10.78.1.1/24'],
      [ROUTER, 'lm0', '10.78.1.2/24'],
      [ROUTER, 'lm1', '10.78.2.1/24'],
      [RECV, 'lr0', `${RECV_ADDR}/24`],
    ] as const) {
      await ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
      await ip('-n', ns, 'link', 'set', dev, 'up');
    }
    await ip('-n', SEND, 'route', 'add', 'default', 'via', '10.78.1.2');
    await ip('-n', RECV, 'route', 'add', 'default', 'via', '10.78.2.1');
    await run('ip', ['netns', 'exec', ROUTER, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'], 10_000);
    await run('ip', ['netns', 'exec', ROUTER, 'tc', 'qdisc', 'add', 'dev', 'lm1', 'root', 'tbf', 'rate', RATE, 'burst', '16kb', 'latency', '300ms'], 10_000);
  });

  after(async () => {
    for (const p of procs) await p.stop();
    for (const ns of made) await run('ip', ['netns', 'del', ns], 10_000).catch(() => undefined);
  });

  it('a TCP flow joining a uTP flow keeps most of the link', async () => {
    const recv = inNs(RECV, 'ledbat-recv', ['recv', String(PORT), String(RECEIVE_MS)]);
    procs.push(recv);
    await recv.waitForLine(/^listening$/, 10_000);
    const utp = inNs(SEND, 'ledbat-utp', ['send', 'utp', RECV_ADDR, String(PORT)]);
    procs.push(utp);
    await utp.waitForLine(/^connected$/, 10_000);
    await sleep(UTP_ALONE_MS);
    const tcp = inNs(SEND, 'ledbat-tcp', ['send', 'tcp', RECV_ADDR, String(PORT)]);
    procs.push(tcp);
    await tcp.waitForLine(/^connected$/, 10_000);
    const exit = await recv.waitForExit(RECEIVE_MS + 15_000);
    const trace = `${recv.tail()}\n${utp.tail()}\n${tcp.tail()}`;
    assert.equal(exit.code, 0, trace);
    const line = recv.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line !== undefined, trace);
    const samples = (JSON.parse(line) as { samples: Sample[] }).samples;

    // TCP joined at the first sample with TCP bytes; the shares are measured once it settled.
    const joined = samples.find((s) => s.tcp > 0);
    assert.ok(joined !== undefined, `TCP never got through\n${trace}`);
    const from = samples.find((s) => s.t >= joined.t + SETTLE_MS);
    const last = samples[samples.length - 1]!;
    assert.ok(from !== undefined && last.t - from.t >= 4000, `enough time shared: ${JSON.stringify(samples.slice(-3))}`);
    const alone = samples.filter((s) => s.t < joined.t && s.utp > 0);
    const utpAloneRate = alone.length >= 2 ? ((alone[alone.length - 1]!.utp - alone[0]!.utp) * 1000) / (alone[alone.length - 1]!.t - alone[0]!.t) : 0;
    const tcpBytes = last.tcp - from.tcp;
    const utpBytes = last.utp - from.utp;
    const seconds = (last.t - from.t) / 1000;
    const tcpShare = tcpBytes / (tcpBytes + utpBytes);
    const kib = (n: number): string => `${Math.round(n / 1024)} KiB/s`;
    console.log(
      `# link ${RATE} (${kib(LINK_BYTES_PER_S)}): uTP alone ${kib(utpAloneRate)}; together over ${seconds.toFixed(1)} s: ` +
        `TCP ${kib(tcpBytes / seconds)}, uTP ${kib(utpBytes / seconds)}, TCP share ${(tcpShare * 100).toFixed(1)} %`,
    );
    assert.ok(utpAloneRate > 0, `uTP moved data before TCP joined\n${trace}`);
    assert.ok(tcpShare > 0.5, `TCP keeps most of the link (share ${(tcpShare * 100).toFixed(1)} %)`);
  });
});
