/**
 * `PortMapper` against the spec-following IGD, NAT-PMP and PCP responder on loopback, on a fake
 * clock: PCP (or NAT-PMP, where the gateway answers PCP with NAT-PMP's "unsupported version")
 * and UPnP map TCP and UDP, learn the external address, renew at half the lease,
 * fall back to a permanent lease where the router allows nothing else (UPnP error 725), and
 * remove every mapping at close. A silent router and an SSDP answer pointing at another host
 * end in 'failed' without a single packet to anyone but the gateway.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { PortMapper, type PortMapEvent, type PortMapperOptions } from '../../src/portmap/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { type IgdResponder, startIgdResponder } from '../helpers/igd-responder.js';
import { freePort } from '../helpers/ports.js';
import { sleep } from '../helpers/proc.js';

async function until(what: string, test: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function mapperFor(r: IgdResponder, clock: FakeClock, events: PortMapEvent[], extra: Partial<PortMapperOptions> = {}): PortMapper {
  return new PortMapper({
    tcpPort: 46881,
    udpPort: 46882,
    clock,
    gateway: r.host,
    ssdpTarget: { host: r.host, port: r.ssdpPort },
    natPmpPort: r.natPmpPort,
    leaseSeconds: 600,
    onEvent: (e) => events.push(e),
    ...extra,
  });
}

describe('PortMapper against the loopback IGD and NAT-PMP responder', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const o of open) await o.close();
  });

  it('maps TCP and UDP by NAT-PMP (the gateway refuses PCP) and UPnP, learns the external address, renews at half the lease, deletes at close', async () => {
    const clock = new FakeClock();
    const r = await startIgdResponder({ clock, externalAddress: '192.0.2.7' });
    open.push(r);
    const events: PortMapEvent[] = [];
    const mapper = mapperFor(r, clock, events);
    await mapper.start();
    assert.equal(r.log.filter((l) => l === 'natpmp unsupported version 2').length, 1, 'PCP asked once, then NAT-PMP');
    assert.equal(mapper.externalAddress, '192.0.2.7');
    const held = mapper.mappings.map((m) => `${m.method} ${m.protocol} ${m.internalPort}->${m.externalPort} ${m.lifetime}`).sort();
    assert.deepEqual(held, ['natpmp TCP 46881->46881 600', 'natpmp UDP 46882->46882 600', 'upnp TCP 46881->46881 600', 'upnp UDP 46882->46882 600']);
    const atRouter = r.mappings().map((m) => `${m.via} ${m.protocol} ${m.externalPort} ${m.internalClient}:${m.internalPort}`).sort();
    assert.deepEqual(atRouter, ['natpmp TCP 46881 127.0.0.1:46881', 'natpmp UDP 46882 127.0.0.1:46882', 'upnp TCP 46881 127.0.0.1:46881', 'upnp UDP 46882 127.0.0.1:46882']);
    assert.equal(r.mappings().find((m) => m.via === 'upnp')?.description, 'Tessera');

    // Half the lease: every mapping is asked for again.
    const adds = (): number => r.log.filter((l) => l.startsWith('AddPortMapping') || /^natpmp map \w+ \d+ 600$/.test(l)).length;
    assert.equal(adds(), 4);
    clock.advance(299_000);
    assert.equal(adds(), 4, 'nothing renewed before half the lease');
    clock.advance(1_000);
    await until('four renewals', () => adds() === 8 && events.filter((e) => e.kind === 'renewed').length === 4);
    // Each renewal asks for the full lease again, so the next comes 300 s later. (The clock
    // moves in steps no longer than that: a jump past a request's own timeout would fail it.)
    clock.advance(300_000);
    await until('the second renewals', () => events.filter((e) => e.kind === 'renewed').length === 8);
    clock.advance(200_000);
    assert.equal(r.mappings().length, 4, 'renewed mappings outlive the first lease (800 s into a 600 s lease)');
    assert.equal(events.filter((e) => e.kind === 'failed').length, 0);

    await mapper.close();
    assert.deepEqual(r.mappings(), [], 'nothing left at the router');
    assert.ok(r.log.includes('DeletePortMapping TCP 46881') && r.log.includes('DeletePortMapping UDP 46882'), r.log.join('\n'));
    assert.ok(r.log.includes('natpmp map TCP 46881 0') && r.log.includes('natpmp map UDP 46882 0'), r.log.join('\n'));
    assert.equal(events.filter((e) => e.kind === 'removed').length, 4);
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('maps by PCP where the gateway speaks it: the external address from the MAP answer, renewals and deletion with the same nonce', async () => {
    const clock = new FakeClock();
    const r = await startIgdResponder({ clock, externalAddress: '198.51.100.9', pcp: true });
    open.push(r);
    const events: PortMapEvent[] = [];
    const mapper = mapperFor(r, clock, events, { methods: ['pcp'] });
    await mapper.start();
    assert.equal(mapper.externalAddress, '198.51.100.9');
    assert.deepEqual(events.filter((e) => e.kind === 'external-address'), [{ kind: 'external-address', method: 'pcp', address: '198.51.100.9' }]);
    assert.deepEqual(mapper.mappings.map((m) => `${m.method} ${m.protocol} ${m.internalPort}->${m.externalPort} ${m.lifetime}`), ['pcp TCP 46881->46881 600', 'pcp UDP 46882->46882 600']);
    assert.deepEqual(r.mappings().map((m) => `${m.via} ${m.protocol} ${m.externalPort} ${m.internalClient}:${m.internalPort}`).sort(), ['pcp TCP 46881 127.0.0.1:46881', 'pcp UDP 46882 127.0.0.1:46882']);
    clock.advance(300_000);
    // The responder refuses a renewal or deletion whose nonce differs from the mapping's (NOT_AUTHORIZED).
    await until('two renewals', () => events.filter((e) => e.kind === 'renewed').length === 2);
    assert.deepEqual(r.log, ['pcp map TCP 46881 600', 'pcp map UDP 46882 600', 'pcp map TCP 46881 600', 'pcp map UDP 46882 600']);
    await mapper.close();
    assert.deepEqual(r.mappings(), [], 'both deleted at close');
    assert.deepEqual(r.log.slice(4), ['pcp map TCP 46881 0', 'pcp map UDP 46882 0']);
    assert.equal(events.filter((e) => e.kind === 'failed').length, 0, JSON.stringify(events));
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('a PCP router that restarts (its epoch starts again) gets every mapping back at once, not each at its next renewal (RFC 6887 §8.5)', async () => {
    const clock = new FakeClock();
    // UDP leases are cut to 120 s, so its renewal (at 60 s) comes long before TCP's (at 300 s).
    const r = await startIgdResponder({ clock, externalAddress: '198.51.100.9', pcp: true, pcpMaxLifetime: { UDP: 120 } });
    open.push(r);
    const events: PortMapEvent[] = [];
    const mapper = mapperFor(r, clock, events, { methods: ['pcp'] });
    await mapper.start();
    assert.deepEqual(r.log, ['pcp map TCP 46881 600', 'pcp map UDP 46882 120']);
    clock.advance(30_000);
    r.restart();
    assert.deepEqual(r.mappings(), [], 'the reboot lost both');
    // At 60 s the UDP renewal's answer says epoch 30: the router restarted, so TCP is made again too.
    clock.advance(30_000);
    await until('both mappings back', () => r.mappings().length === 2);
    assert.deepEqual(r.log.slice(2), ['pcp map UDP 46882 120', 'pcp map TCP 46881 600'], 'UDP was just granted again: only TCP is refreshed');
    await until('the renewals reported', () => events.filter((e) => e.kind === 'renewed' && e.mapping.protocol === 'TCP').length === 1);
    // TCP's renewal was moved, not doubled: nothing more until UDP's next half lease.
    const sent = r.log.length;
    clock.advance(59_000);
    assert.equal(r.log.length, sent);
    await mapper.close();
    assert.deepEqual(r.mappings(), []);
    assert.equal(events.filter((e) => e.kind === 'failed').length, 0, JSON.stringify(events));
    assert.equal(clock.pending, 0, 'no timer left behind');
  });

  it('a running PCP router (epoch in step with our clock) is not refreshed early', async () => {
    const clock = new FakeClock();
    const r = await startIgdResponder({ clock, pcp: true, pcpMaxLifetime: { UDP: 120 } });
    open.push(r);
    const mapper = mapperFor(r, clock, [], { methods: ['pcp'] });
    await mapper.start();
    clock.advance(60_000);
    await until('the UDP renewal', () => r.log.length === 3);
    await sleep(50);
    assert.deepEqual(r.log, ['pcp map TCP 46881 600', 'pcp map UDP 46882 120', 'pcp map UDP 46882 120']);
    await mapper.close();
  });

  it('a router that allows only permanent leases (725) gets lease 0, which is not renewed', async () => {
    const clock = new FakeClock();
    const r = await startIgdResponder({ clock, onlyPermanent: true });
    open.push(r);
    const mapper = mapperFor(r, clock, [], { methods: ['upnp'] });
    await mapper.start();
    assert.deepEqual(
      mapper.mappings.map((m) => m.lifetime),
      [0, 0],
    );
    assert.deepEqual(r.log, ['AddPortMapping TCP 46881 600', 'AddPortMapping TCP 46881 0', 'AddPortMapping UDP 46882 600', 'AddPortMapping UDP 46882 0']);
    assert.equal(clock.pending, 0, 'a permanent mapping has no renewal timer');
    await mapper.close();
    assert.deepEqual(r.mappings(), []);
  });

  it('a silent gateway: both methods give up on the clock (PCP after 3+6+12 s)', async () => {
    const clock = new FakeClock();
    const silent = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => silent.close(() => resolve())) });
    let received = 0;
    silent.on('message', () => received++);
    const events: PortMapEvent[] = [];
    const mapper = new PortMapper({
      tcpPort: 46881,
      clock,
      gateway: '127.0.0.1',
      ssdpTarget: { host: '127.0.0.1', port: silent.address().port },
      natPmpPort: silent.address().port,
      onEvent: (e) => events.push(e),
    });
    const started = mapper.start();
    // 2 M-SEARCHes (IGD 1 and 2) and the first PCP request
    await until('the first packets', () => received === 3);
    for (const step of [1000, 2000, 6000]) {
      clock.advance(step);
      await sleep(20);
    }
    clock.advance(12_000);
    await started;
    assert.deepEqual(events.map((e) => (e.kind === 'failed' ? `${e.method}: ${e.message}` : e.kind)).sort(), [
      'pcp: no PCP answer from 127.0.0.1',
      'upnp: no UPnP gateway answered at 127.0.0.1',
    ]);
    // 3 PCP sends (at 0, 3 and 9 s), and the M-SEARCH pair twice (at 0 and 1 s)
    await until('all sends counted', () => received === 7);
    assert.deepEqual(mapper.mappings, []);
    await mapper.close();
  });

  it('an SSDP answer whose description lives on another host is ignored', async () => {
    const clock = new FakeClock();
    const liar = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve) => liar.bind(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => liar.close(() => resolve())) });
    const victim = await freePort();
    liar.on('message', (_msg, rinfo) => {
      liar.send(`HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://127.0.0.2:${victim}/d.xml\r\n\r\n`, rinfo.port, rinfo.address);
    });
    const events: PortMapEvent[] = [];
    const mapper = new PortMapper({ tcpPort: 46881, clock, gateway: '127.0.0.1', ssdpTarget: { host: '127.0.0.1', port: liar.address().port }, methods: ['upnp'], onEvent: (e) => events.push(e) });
    const started = mapper.start();
    await sleep(100);
    clock.advance(3000);
    await started;
    assert.deepEqual(events.map((e) => e.kind), ['failed']);
    await mapper.close();
  });
});
