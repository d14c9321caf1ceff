/**
 * The pure port-mapping codecs: SSDP search replies (UDA 1.1 §1.3), IGD device descriptions
 * and SOAP replies (IGD 1/2), NAT-PMP packets (RFC 6886 §3), PCP MAP packets (RFC 6887) and
 * /proc/net/route. Every decoder
 * reads what any host on the LAN may send: random and mutated input only ever throws
 * `PortMapError`, and a description can never point us at another host.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PortMapError } from '../../src/portmap/errors.js';
import { parseDefaultGateway } from '../../src/portmap/gateway.js';
import { addPortMappingRequest, deletePortMappingRequest, parseDescription, parseSoapReply } from '../../src/portmap/igd-xml.js';
import { decodeNatPmpReply, encodeExternalAddressRequest, encodeMapRequest } from '../../src/portmap/natpmp-codec.js';
import { decodePcpReply, encodePcpMapRequest, pcpServerLostState } from '../../src/portmap/pcp-codec.js';
import { encodeMSearch, parseSsdpReply } from '../../src/portmap/ssdp.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const onlyPortMapErrors = (fn: () => unknown): void => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof PortMapError)) throw err;
  }
};

const REPLY = [
  'HTTP/1.1 200 OK',
  'CACHE-CONTROL: max-age=120',
  'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'USN: uuid:0903a5cb-c931-4c66-94c4-3ec3487e18e2::urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'EXT:',
  'SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1',
  'LOCATION: http://10.77.0.1:5000/rootDesc.xml',
  '',
  '',
].join('\r\n');

describe('SSDP', () => {
  it('M-SEARCH is the UDA 1.1 request for the IGD', () => {
    assert.equal(
      Buffer.from(encodeMSearch()).toString('latin1'),
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n',
    );
  });

  it("reads miniupnpd's search reply", () => {
    const r = parseSsdpReply(b(REPLY));
    assert.equal(r.location.href, 'http://10.77.0.1:5000/rootDesc.xml');
    assert.equal(r.st, 'urn:schemas-upnp-org:device:InternetGatewayDevice:1');
    assert.match(r.server, /MiniUPnPd/);
  });

  it('header names are case-insensitive', () => {
    assert.equal(parseSsdpReply(b(REPLY.replace('LOCATION', 'Location'))).location.port, '5000');
  });

  for (const [what, text] of [
    ['a NOTIFY, not a reply', REPLY.replace('HTTP/1.1 200 OK', 'NOTIFY * HTTP/1.1')],
    ['an error status', REPLY.replace('200 OK', '404 Not Found')],
    ['no LOCATION', REPLY.replace(/LOCATION:[^\r]*\r\n/, '')],
    ['an https LOCATION', REPLY.replace('http://', 'https://')],
    ['a host name LOCATION', REPLY.replace('10.77.0.1', 'router.lan')],
    ['credentials in LOCATION', REPLY.replace('http://', 'http://u:p@')],
    ['a file LOCATION', REPLY.replace('http://10.77.0.1:5000/rootDesc.xml', 'file:///etc/passwd')],
    ['too many headers', REPLY.replace('EXT:', Array.from({ length: 40 }, (_, i) => `X-${i}: y`).join('\r\n'))],
    ['a header line without a name', REPLY.replace('EXT:', ': nothing')],
    ['over 2048 bytes', REPLY.replace('EXT:', `X: ${'a'.repeat(2100)}`)],
  ] as const) {
    it(`rejects ${what}`, () => assert.throws(() => parseSsdpReply(b(text)), (e: unknown) => e instanceof PortMapError && e.code === 'bad-ssdp'));
  }

  it('fuzz: random bytes and mutated replies only throw PortMapError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => onlyPortMapErrors(() => parseSsdpReply(bytes))), { numRuns: 2000 });
    const base = b(REPLY);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (edits) => {
        const copy = Buffer.from(base);
        for (const [at, v] of edits) copy[at] = v;
        onlyPortMapErrors(() => parseSsdpReply(copy));
      }),
      { numRuns: 2000 },
    );
  });
});

const LOCATION = new URL('http://10.77.0.1:5000/rootDesc.xml');
const svc = (type: string, control: string): string =>
  `<service><serviceType>${type}</serviceType><serviceId>urn:upnp-org:serviceId:x</serviceId><controlURL>${control}</controlURL><eventSubURL>/evt</eventSubURL><SCPDURL>/x.xml</SCPDURL></service>`;
const desc = (services: string, extra = ''): string =>
  `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0">${extra}<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>` +
  `<serviceList>${svc('urn:schemas-upnp-org:service:Layer3Forwarding:1', '/ctl/L3F')}</serviceList><deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType>` +
  `<serviceList>${svc('urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1', '/ctl/CmnIfCfg')}</serviceList><deviceList><device>` +
  `<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType><serviceList>${services}</serviceList></device></deviceList></device></deviceList></device></root>`;

describe('IGD device description', () => {
  it('finds the WANIPConnection control URL in a nested IGD 2 description, relative to the location', () => {
    const s = parseDescription(desc(svc('urn:schemas-upnp-org:service:WANIPConnection:2', '/ctl/IPConn')), LOCATION);
    assert.equal(s.serviceType, 'urn:schemas-upnp-org:service:WANIPConnection:2');
    assert.equal(s.controlUrl.href, 'http://10.77.0.1:5000/ctl/IPConn');
  });

  it('prefers WANIPConnection:2, then :1, then WANPPPConnection:1', () => {
    const both = svc('urn:schemas-upnp-org:service:WANPPPConnection:1', '/ppp') + svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ip1');
    assert.equal(parseDescription(desc(both), LOCATION).controlUrl.pathname, '/ip1');
    assert.equal(parseDescription(desc(svc('urn:schemas-upnp-org:service:WANPPPConnection:1', '/ppp')), LOCATION).controlUrl.pathname, '/ppp');
  });

  it('honours URLBase on the same host, decodes entities and namespace prefixes', () => {
    const xml = desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'ctl?a=1&amp;b=2'), '<URLBase>http://10.77.0.1:5000/base/</URLBase>');
    assert.equal(parseDescription(xml, LOCATION).controlUrl.href, 'http://10.77.0.1:5000/base/ctl?a=1&b=2');
    const prefixed = '<r:root><r:service><r:serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</r:serviceType><r:controlURL>/c</r:controlURL></r:service></r:root>';
    assert.equal(parseDescription(prefixed, LOCATION).controlUrl.pathname, '/c');
  });

  for (const [what, xml] of [
    ['a control URL on another host', desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'http://192.0.2.1/ctl'))],
    ['a control URL on another port', desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'http://10.77.0.1:80/ctl'))],
    ['no WAN connection service', desc(svc('urn:schemas-upnp-org:service:Layer3Forwarding:1', '/l3'))],
    ['an unclosed service', '<root><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/c</controlURL>'],
    ['more than 64 KiB', desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/c'), `<x>${'a'.repeat(70_000)}</x>`)],
  ] as const) {
    it(`rejects ${what}`, () => assert.throws(() => parseDescription(xml, LOCATION), PortMapError));
  }

  it('a URLBase on another host is refused', () => {
    assert.throws(() => parseDescription(desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/c'), '<URLBase>http://192.0.2.9/</URLBase>'), LOCATION), PortMapError);
  });

  it('64 KiB of unclosed service tags is read in linear time (no backtracking)', () => {
    const xml = '<service>'.repeat(7000);
    assert.throws(() => parseDescription(xml, LOCATION), PortMapError);
  });

  it('fuzz: random text and mutated descriptions only throw PortMapError, and never leave the host', () => {
    const good = desc(svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl/IPConn'));
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), fc.nat(good.length), (junk, at) => {
        try {
          const s = parseDescription(good.slice(0, at) + junk + good.slice(at), LOCATION);
          assert.equal(s.controlUrl.host, LOCATION.host);
        } catch (err) {
          if (!(err instanceof PortMapError)) throw err;
        }
      }),
      { numRuns: 1500 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => onlyPortMapErrors(() => parseDescription(bytes, LOCATION))), { numRuns: 1000 });
  });
});

describe('SOAP', () => {
  it('AddPortMapping carries the eight IGD arguments in order, escaped', () => {
    const r = addPortMappingRequest('urn:schemas-upnp-org:service:WANIPConnection:1', {
      protocol: 'TCP',
      externalPort: 6881,
      internalPort: 6881,
      internalClient: '10.77.0.2',
      description: 'a<b>&c',
      leaseSeconds: 3600,
    });
    assert.equal(r.soapAction, '"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"');
    assert.match(
      r.body,
      /<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewRemoteHost><\/NewRemoteHost><NewExternalPort>6881<\/NewExternalPort><NewProtocol>TCP<\/NewProtocol><NewInternalPort>6881<\/NewInternalPort><NewInternalClient>10.77.0.2<\/NewInternalClient><NewEnabled>1<\/NewEnabled><NewPortMappingDescription>a&lt;b&gt;&amp;c<\/NewPortMappingDescription><NewLeaseDuration>3600<\/NewLeaseDuration><\/u:AddPortMapping>/,
    );
    assert.match(deletePortMappingRequest('urn:x', 'UDP', 7).body, /<NewRemoteHost><\/NewRemoteHost><NewExternalPort>7<\/NewExternalPort><NewProtocol>UDP<\/NewProtocol>/);
  });

  it('reads a response value and a UPnP fault', () => {
    const ok = parseSoapReply(200, '<s:Envelope><s:Body><u:GetExternalIPAddressResponse xmlns:u="x"><NewExternalIPAddress>192.0.2.7</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>', ['NewExternalIPAddress']);
    assert.deepEqual(ok, { ok: true, values: new Map([['NewExternalIPAddress', '192.0.2.7']]) });
    const fault =
      '<s:Envelope><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry\u001b[2J</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>';
    assert.deepEqual(parseSoapReply(500, fault, []), { ok: false, errorCode: 718, errorDescription: 'ConflictInMappingEntry?[2J' });
    assert.throws(() => parseSoapReply(500, '<html>oops</html>', []), (e: unknown) => e instanceof PortMapError && e.code === 'bad-soap');
  });

  it('fuzz: any status and body only throw PortMapError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.string({ maxLength: 3000 }), (status, body) => onlyPortMapErrors(() => parseSoapReply(status, body, ['NewExternalIPAddress']))),
      { numRuns: 2000 },
    );
  });
});

describe('NAT-PMP (RFC 6886)', () => {
  it('requests: external address (§3.2) and mapping (§3.3)', () => {
    assert.deepEqual([...encodeExternalAddressRequest()], [0, 0]);
    assert.deepEqual([...encodeMapRequest('TCP', 6881, 6881, 7200)], [0, 2, 0, 0, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0x1c, 0x20]);
    assert.deepEqual([...encodeMapRequest('UDP', 6881, 0, 0)], [0, 1, 0, 0, 0x1a, 0xe1, 0, 0, 0, 0, 0, 0]);
    assert.throws(() => encodeMapRequest('UDP', 70000, 0, 0), PortMapError);
  });

  it('replies: external address, mapping, and the 8-byte error form', () => {
    assert.deepEqual(decodeNatPmpReply(Uint8Array.of(0, 128, 0, 0, 0, 0, 1, 0, 192, 0, 2, 7)), { op: 'external-address', result: 0, epoch: 256, address: '192.0.2.7' });
    assert.deepEqual(decodeNatPmpReply(Uint8Array.of(0, 130, 0, 0, 0, 0, 0, 9, 0x1a, 0xe1, 0x1a, 0xe2, 0, 0, 0x1c, 0x20)), {
      op: 'map',
      protocol: 'TCP',
      result: 0,
      epoch: 9,
      internalPort: 6881,
      externalPort: 6882,
      lifetime: 7200,
    });
    assert.equal(decodeNatPmpReply(Uint8Array.of(0, 128, 0, 3, 0, 0, 0, 1)).result, 3);
  });

  for (const [what, bytes] of [
    ['a request', [0, 2, 0, 0, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0x1c, 0x20]],
    ['version 1', [1, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]],
    ['a short mapping reply', [0, 129, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['a long external address reply', [0, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]],
    ['an unknown opcode', [0, 200, 0, 0, 0, 0, 0, 0]],
    ['three bytes', [0, 128, 0]],
  ] as const) {
    it(`rejects ${what}`, () => assert.throws(() => decodeNatPmpReply(Uint8Array.from(bytes)), (e: unknown) => e instanceof PortMapError && e.code === 'bad-natpmp'));
  }

  it('fuzz: random packets only throw PortMapError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => onlyPortMapErrors(() => decodeNatPmpReply(bytes))), { numRuns: 5000 });
  });
});

describe('PCP (RFC 6887)', () => {
  const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
  const hex = (s: string): number[] => [...Buffer.from(s.replace(/\s+/g, ''), 'hex')];
  // §7.1 header: version 2, opcode MAP, reserved, lifetime 7200, client ::ffff:192.168.1.20;
  // §11.1 MAP: nonce, protocol 6, reserved, internal 6881, suggested 6881, suggested ::ffff:0.0.0.0.
  const request = hex(`02 01 0000 00001c20 00000000000000000000ffffc0a80114
    0102030405060708090a0b0c 06 000000 1ae1 1ae1 00000000000000000000ffff00000000`);

  it('a MAP request is the 24-byte header and the 36-byte MAP body', () => {
    const out = encodePcpMapRequest({ protocol: 'TCP', internalPort: 6881, suggestedExternalPort: 6881, lifetime: 7200, clientAddress: '192.168.1.20', nonce });
    assert.deepEqual([...out], request);
    const del = encodePcpMapRequest({ protocol: 'UDP', internalPort: 6881, suggestedExternalPort: 0, lifetime: 0, clientAddress: '10.0.0.2', nonce });
    assert.equal(del.length, 60);
    assert.deepEqual([del[1], del[4], del[5], del[6], del[7], del[36], del[42], del[43]], [1, 0, 0, 0, 0, 17, 0, 0]);
    for (const bad of [{ internalPort: 0 }, { internalPort: 70000 }, { lifetime: -1 }, { clientAddress: '::1' }, { nonce: new Uint8Array(11) }]) {
      assert.throws(() => encodePcpMapRequest({ protocol: 'TCP', internalPort: 6881, suggestedExternalPort: 0, lifetime: 60, clientAddress: '10.0.0.2', nonce, ...bad }), PortMapError);
    }
  });

  it('a MAP response: result, lifetime, epoch, the nonce and the assigned external port and address', () => {
    const response = Buffer.from(request);
    response[1] = 0x81;
    response.writeUInt32BE(3600, 4);
    response.writeUInt32BE(77, 8);
    response.fill(0, 12, 24);
    response.writeUInt16BE(6999, 42);
    response.set([198, 51, 100, 9], 56);
    assert.deepEqual(decodePcpReply(response), {
      kind: 'map',
      result: 0,
      lifetime: 3600,
      epoch: 77,
      nonce,
      protocol: 'TCP',
      internalPort: 6881,
      externalPort: 6999,
      externalAddress: '198.51.100.9',
    });
    const withOption = Buffer.concat([response, Buffer.from([0x02, 0, 0, 0])]);
    assert.equal((decodePcpReply(withOption) as { externalPort: number }).externalPort, 6999, 'options after the body are skipped');
    response[3] = 8;
    assert.deepEqual(decodePcpReply(response), { ...decodePcpReply(response), kind: 'map', result: 8 });
  });

  it("a header-only error, and a NAT-PMP gateway's 'unsupported version', are told apart", () => {
    const header = Buffer.alloc(24);
    header[0] = 2;
    header[1] = 0x81;
    header[3] = 4;
    assert.deepEqual(decodePcpReply(header), { kind: 'header', version: 2, result: 4, lifetime: 0, epoch: 0 });
    assert.deepEqual(decodePcpReply(Uint8Array.of(0, 129, 0, 1, 0, 0, 0, 5)), { kind: 'natpmp-only' });
  });

  for (const [what, bytes] of [
    ['our own request', request],
    ['a short response', [2, 0x81, 0, 0, 0, 0, 0, 0]],
    ['a length that is not a multiple of 4', [...request.slice(0, 1), 0x81, ...request.slice(2), 0]],
    ['a MAP response cut short', [2, 0x81, ...new Array(26).fill(0)]],
    ['over 1100 bytes', [2, 0x81, ...new Array(1102).fill(0)]],
    ['a NAT-PMP success', [0, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]],
    ['a response to another opcode', [2, 0x82, ...new Array(58).fill(0)]],
  ] as const) {
    it(`rejects ${what}`, () => assert.throws(() => decodePcpReply(Uint8Array.from(bytes)), (e: unknown) => e instanceof PortMapError && e.code === 'bad-pcp'));
  }

  it('RFC 6887 §8.5: the epoch tells a restarted server (gone back, or out of step with our clock) from a running one', () => {
    const at = (server: number, client: number): { server: number; client: number } => ({ server, client });
    assert.equal(pcpServerLostState(at(1000, 50), at(1300, 350)), false, 'both advanced 300 s');
    assert.equal(pcpServerLostState(at(1000, 50), at(999, 50.5)), false, 'one second back is tolerated');
    assert.equal(pcpServerLostState(at(1000, 50), at(998, 51)), true, 'two seconds back: restarted');
    assert.equal(pcpServerLostState(at(1000, 50), at(1100, 350)), true, 'the server counted 100 s of our 300: it restarted in between');
    assert.equal(pcpServerLostState(at(1000, 50), at(1600, 350)), true, 'the server counted 600 s of our 300');
    assert.equal(pcpServerLostState(at(1000, 50), at(1280, 350)), false, '300 s against 280: within 2 s and a sixteenth');
    assert.equal(pcpServerLostState(at(1000, 50), at(1278, 350)), true, '300 s against 278: past 2 s and a sixteenth');
    assert.equal(pcpServerLostState(at(0, 0), at(30, 60)), true, 'a router that restarted 30 s into a minute');
  });

  it('fuzz: random and mutated packets only throw PortMapError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => onlyPortMapErrors(() => decodePcpReply(bytes))), { numRuns: 3000 });
    const response = Uint8Array.from(request);
    response[1] = 0x81;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(59), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(64), (edits, cut) => {
        const m = Uint8Array.from(response);
        for (const [at, v] of edits) m[at] = v;
        onlyPortMapErrors(() => decodePcpReply(m.subarray(0, Math.max(0, m.length - cut))));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('default gateway from /proc/net/route', () => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
    'wg0\t00000000\t01004D0A\t0003\t0\t0\t50\t00000000\t0\t0\t0',
    'eth0\t0000A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0',
  ].join('\n');
  it('picks the default route with the lowest metric (addresses are little-endian hex)', () => {
    assert.equal(parseDefaultGateway(table), '10.77.0.1');
    assert.equal(parseDefaultGateway(table.split('\n').slice(0, 2).join('\n')), '192.168.0.1');
  });
  it('none without a default route through a gateway; junk is ignored', () => {
    assert.equal(parseDefaultGateway(table.split('\n').slice(3).join('\n')), undefined);
    assert.equal(parseDefaultGateway('Iface\nlo\t00000000\tzz\t0003\t0\t0\t0\t00000000'), undefined);
    fc.assert(fc.property(fc.string({ maxLength: 500 }), (s) => void parseDefaultGateway(s)), { numRuns: 500 });
  });
});
