/**
 * Discovery against a real router: miniupnpd (Debian) runs in a network namespace of its own,
 * joined by a veth pair to a second namespace where Tessera's port-mapping code runs (through
 * test/helpers/portmap-probe.ts under `ip netns exec`). The router namespace gets the nftables
 * table and chains that /etc/miniupnpd/nft_init.sh creates, under miniupnpd's default names.
 * Its "external" interface has the private address 10.99.0.2, so no packet
 * can leave the namespaces, and miniupnpd refuses every mapping (it requires a public address):
 * what this test shows is SSDP discovery from the default gateway, the description fetched and
 * its WANIPConnection:2 control URL found, and the router's refusals (UPnP 501, NAT-PMP result
 * 3, PCP result 8 after it read our MAP request) read as typed errors, with nothing left in the
 * router's chains. The mapping itself is
 * shown against the test tree's responder (port-mapper.test.ts), itself checked with upnpc.
 * Last, `tessera download` in the client namespace asks the router by default and says so with
 * `--verbose`, and asks nothing with `--no-port-mapping`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type Proc, run, startProc } from '../helpers/proc.js';
import { cliPath } from '../helpers/tessera.js';
import { memoryTorrent } from '../session/memory-swarm.js';

const ROUTER = `tsnm${process.pid}r`;
const CLIENT = `tsnm${process.pid}c`;
const probe = fileURLToPath(new URL('../helpers/portmap-probe.js', import.meta.url));

// The structure nft_init.sh builds, with miniupnpd's default table and chain names.
const NFT = `table inet filter {
  chain forward { type filter hook forward priority 0; policy drop; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
`;

const CONF = `ext_ifname=wan0
listening_ip=vr0
http_port=5555
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
uuid=6b1f0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b
allow 1024-65535 10.77.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`;

const ip = (...args: string[]): Promise<Proc> => run('ip', args, 10_000);

describe('port mapping against miniupnpd in a network namespace', { timeout: 90_000 }, () => {
  let dir: string;
  let miniupnpd: Proc | undefined;
  let made = false;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'network namespaces need root');
    dir = await mkdtemp(join(tmpdir(), 'tessera-netns-'));
    await ip('netns', 'add', ROUTER);
    made = true;
    await ip('netns', 'add', CLIENT);
    await ip('-n', ROUTER, 'link', 'add', 'vr0', 'type', 'veth', 'peer', 'name', 'vc0', 'netns', CLIENT);
    await ip('-n', ROUTER, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wanp');
    for (const [ns, dev, addr] of [
      [ROUTER, 'vr0', '10.77.0.1/24'],
      [ROUTER, 'wan0', '10.99.0.2/24'],
      [CLIENT, 'vc0', '10.77.0.2/24'],
    ] as const) {
      await ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
      await ip('-n', ns, 'link', 'set', dev, 'up');
    }
    for (const [ns, dev] of [[ROUTER, 'wanp'], [ROUTER, 'lo'], [CLIENT, 'lo']] as const) await ip('-n', ns, 'link', 'set', dev, 'up');
    await ip('-n', CLIENT, 'route', 'add', 'default', 'via', '10.77.0.1');
    await writeFile(join(dir, 'miniupnpd.nft'), NFT);
    await run('ip', ['netns', 'exec', ROUTER, 'nft', '-f', join(dir, 'miniupnpd.nft')], 10_000);
    await writeFile(join(dir, 'miniupnpd.conf'), CONF);
    // `ip netns exec` execs miniupnpd: the PID we hold is the daemon's, and it is stopped by it.
    miniupnpd = startProc('miniupnpd', 'ip', ['netns', 'exec', ROUTER, '/usr/sbin/miniupnpd', '-d', '-f', join(dir, 'miniupnpd.conf'), '-P', join(dir, 'miniupnpd.pid')]);
    await miniupnpd.waitForLine(/Listening for NAT-PMP\/PCP traffic on port 5351/, 10_000);
  });

  after(async () => {
    await miniupnpd?.stop();
    if (made) {
      await run('ip', ['netns', 'del', ROUTER], 10_000).catch(() => undefined);
      await run('ip', ['netns', 'del', CLIENT], 10_000).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('discovers miniupnpd from the client namespace, reads its description, and reads its refusals', async () => {
    const p = await run('ip', ['netns', 'exec', CLIENT, process.execPath, probe], 30_000);
    const r = JSON.parse(p.stdout.trim()) as Record<string, { ok?: unknown; error?: string } & Record<string, unknown>>;
    const trace = `${JSON.stringify(r, null, 1)}\n${miniupnpd!.tail()}`;
    assert.equal(r.gateway, '10.77.0.1', 'the default gateway, from the namespace routing table');
    const found = r.ssdp?.ok as { server: string; st: string } | undefined;
    // We search for IGD 1 and IGD 2 at once; miniupnpd answers both, and either answer may come first.
    assert.match(found?.st ?? '', /^urn:schemas-upnp-org:device:InternetGatewayDevice:[12]$/, trace);
    assert.deepEqual(
      r.ssdp?.ok,
      {
        location: 'http://10.77.0.1:5555/rootDesc.xml',
        st: found?.st,
        server: found?.server,
        service: 'urn:schemas-upnp-org:service:WANIPConnection:2',
        control: 'http://10.77.0.1:5555/ctl/IPConn',
        local: '10.77.0.2',
      },
      trace,
    );
    assert.match(found?.server ?? '', /MiniUPnPd\/2\./);
    assert.equal(r.add?.error, 'upnp-error: UPnP error 501 (ActionFailed)', trace);
    assert.equal(r.natpmpExternal?.error, 'natpmp-error: NAT-PMP gateway answered 3 (network failure)', trace);
    assert.equal(r.natpmpMap?.error, 'natpmp-error: NAT-PMP gateway answered 3 (network failure)', trace);
    assert.equal(r.pcpMap?.error, 'pcp-error: PCP gateway answered 8 (no resources)', trace);
    const mapper = r.mapper as unknown as { events: Array<{ kind: string; method: string }>; mappings: unknown[] };
    assert.deepEqual(mapper.events.map((e) => `${e.kind} ${e.method}`).sort(), ['failed pcp', 'failed upnp'], trace);
    assert.deepEqual(mapper.mappings, []);
    // What the router saw: our M-SEARCH, the description fetch and the SOAP calls, from the client side.
    assert.match(miniupnpd!.stdout + miniupnpd!.stderr, /SSDP M-SEARCH from 10\.77\.0\.2:\d+ ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1/);
    assert.match(miniupnpd!.stdout + miniupnpd!.stderr, /GET \/rootDesc\.xml/);
    assert.match(miniupnpd!.stdout + miniupnpd!.stderr, /WANIPConnection:2#AddPortMapping/);
    assert.match(miniupnpd!.stdout + miniupnpd!.stderr, /NAT-PMP port mapping request : 6881->10\.77\.0\.2:6881 udp/);
    // The router read our PCP MAP: protocol, internal port, client address and the 12-byte nonce.
    assert.match(miniupnpd!.stdout + miniupnpd!.stderr, /PCP MAP: failed to add mapping TCP 6881->10\.77\.0\.2:6881 'PCP MAP [0-9a-f]{24}'/);
    const chains = await run('ip', ['netns', 'exec', ROUTER, 'nft', 'list', 'chain', 'inet', 'filter', 'miniupnpd'], 10_000);
    assert.doesNotMatch(chains.stdout, /dport/, 'no forwarding rule was left at the router');
  });
  it('tessera download maps by default (and reports the refusals with --verbose); --no-port-mapping sends nothing', async () => {
    const t = memoryTorrent(Buffer.alloc(64 * 1024, 7), 16 * 1024, 'nm.bin');
    const torrent = join(dir, 'nm.torrent');
    await writeFile(torrent, t.torrent);
    const download = (...extra: string[]): Promise<Proc> =>
      new Promise((resolve) => {
        const args = ['netns', 'exec', CLIENT, process.execPath, cliPath, 'download', torrent, '-o', join(dir, 'out'), '--no-dht', '--timeout', '6s', '--port', '6881', '--verbose', ...extra];
        const p = startProc('tessera', 'ip', args, { env: { ...process.env, TESSERA_NO_PORT_MAPPING: '' } });
        void p.waitForExit(30_000).then(() => resolve(p), () => resolve(p));
      });
    const before = (miniupnpd!.stdout + miniupnpd!.stderr).length;
    const on = await download();
    assert.match(on.stderr, /port mapping: pcp failed: PCP gateway answered 8 \(no resources\)/, on.tail());
    assert.match(on.stderr, /port mapping: upnp failed: UPnP error 501 \(ActionFailed\)/, on.tail());
    assert.match((miniupnpd!.stdout + miniupnpd!.stderr).slice(before), /AddPortMapping: ext port 6881 to 10\.77\.0\.2:6881 protocol TCP for: Tessera/);
    const mid = (miniupnpd!.stdout + miniupnpd!.stderr).length;
    const off = await download('--no-port-mapping');
    assert.doesNotMatch(off.stderr, /port mapping/, off.tail());
    assert.doesNotMatch((miniupnpd!.stdout + miniupnpd!.stderr).slice(mid), /M-SEARCH from|NAT-PMP request|PCP request|HTTP REQUEST/, 'the router heard nothing');
  });
});
