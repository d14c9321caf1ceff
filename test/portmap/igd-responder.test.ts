/**
 * The test tree's IGD responder is checked against a real UPnP client, miniupnpc's `upnpc`:
 * it finds the WANIPConnection service in the responder's description, adds a mapping, lists
 * it (GetGenericPortMappingEntry), and deletes it. Only then do the PortMapper tests that use
 * the responder mean anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/util/clock.js';
import { type IgdResponder, startIgdResponder } from '../helpers/igd-responder.js';
import { run } from '../helpers/proc.js';

const UPNPC = '/usr/bin/upnpc';

describe("the IGD responder, driven by miniupnpc's upnpc", () => {
  let r: IgdResponder;
  before(async () => {
    r = await startIgdResponder({ clock: systemClock, externalAddress: '192.0.2.7' });
  });
  after(async () => {
    await r.close();
  });

  const upnpc = async (...args: string[]): Promise<string> => {
    const p = await run(UPNPC, ['-u', r.descriptionUrl, ...args], 15_000);
    return p.stdout + p.stderr;
  };

  it('upnpc -a adds a TCP and a UDP mapping', async () => {
    const tcp = await upnpc('-e', 'upnpc-test', '-a', '127.0.0.1', '40001', '40001', 'TCP', '3600');
    assert.match(tcp, /Found valid IGD : http:\/\/127\.0\.0\.1:\d+\/ctl\/IPConn/);
    assert.match(tcp, /ExternalIPAddress = 192\.0\.2\.7/);
    assert.match(tcp, /external 192\.0\.2\.7:40001 TCP is redirected to internal 127\.0\.0\.1:40001 \(duration=3600\)/);
    const udp = await upnpc('-e', 'upnpc-test', '-a', '127.0.0.1', '40002', '40003', 'UDP', '0');
    assert.match(udp, /external 192\.0\.2\.7:40003 UDP is redirected to internal 127\.0\.0\.1:40002/);
    assert.deepEqual(
      r.mappings().map((m) => `${m.protocol} ${m.externalPort}->${m.internalClient}:${m.internalPort} ${m.lease} ${m.description}`),
      ['TCP 40001->127.0.0.1:40001 3600 upnpc-test', 'UDP 40003->127.0.0.1:40002 0 upnpc-test'],
    );
  });

  it('upnpc -l lists both, with status and connection type', async () => {
    const out = await upnpc('-l');
    assert.match(out, /Connection Type : IP_Routed/);
    assert.match(out, /Status : Connected/);
    assert.match(out, /0 TCP 40001->127\.0\.0\.1:40001 'upnpc-test' '' (3600|359\d)/);
    assert.match(out, /1 UDP 40003->127\.0\.0\.1:40002 'upnpc-test' '' 0/);
    assert.match(out, /GetGenericPortMappingEntry\(\) returned 713/, 'the list ends with SpecifiedArrayIndexInvalid');
  });

  it('upnpc -d deletes them; a second delete is NoSuchEntryInArray', async () => {
    assert.match(await upnpc('-d', '40001', 'TCP'), /UPNP_DeletePortMapping\(\) returned : 0/);
    assert.match(await upnpc('-d', '40003', 'UDP'), /UPNP_DeletePortMapping\(\) returned : 0/);
    assert.deepEqual(r.mappings(), []);
    await assert.rejects(upnpc('-d', '40003', 'UDP'), /UPNP_DeletePortMapping\(\) failed with code : 714/);
  });
});
