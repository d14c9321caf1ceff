/**
 * A small Internet Gateway Device and NAT-PMP (and, when asked, PCP) server on loopback,
 * written from the specs (UPnP IGD 1 with WANIPConnection:1, UDA 1.1 SSDP search replies,
 * RFC 6886, RFC 6887 MAP), for tests of
 * the mapping itself: a real router (miniupnpd) refuses every mapping while its external
 * address is private, and tests must not use public addresses. Its UPnP side is checked
 * against miniupnpc's `upnpc` in test/portmap/igd-responder.test.ts.
 *
 * Leases expire on the given clock; every action is logged in `log` for assertions.
 */
import { type Socket, createSocket } from 'node:dgram';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/util/clock.js';

export interface ResponderMapping {
  readonly protocol: 'TCP' | 'UDP';
  readonly externalPort: number;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly description: string;
  /** Seconds asked for; 0 permanent. */
  readonly lease: number;
  /** Clock time (ms) at which it lapses; undefined for permanent. */
  readonly expires: number | undefined;
  readonly via: 'upnp' | 'natpmp' | 'pcp';
}

export interface IgdResponder {
  readonly host: string;
  readonly httpPort: number;
  readonly ssdpPort: number;
  readonly natPmpPort: number;
  readonly descriptionUrl: string;
  /** Live mappings (expired leases dropped). */
  mappings(): ResponderMapping[];
  /** Every action received, in order: 'AddPortMapping TCP 6881 3600', 'natpmp map UDP 6881 7200', … */
  readonly log: string[];
  /** Forget every mapping and start the epoch from 0 again, as a router that rebooted. */
  restart(): void;
  close(): Promise<void>;
}

export interface IgdResponderOptions {
  readonly clock: Clock;
  readonly externalAddress?: string;
  /** Answer AddPortMapping with a nonzero lease by error 725 (OnlyPermanentLeasesSupported). */
  readonly onlyPermanent?: boolean;
  /** Speak PCP on the NAT-PMP port too; otherwise a PCP request gets NAT-PMP's "unsupported version". */
  readonly pcp?: boolean;
  /** PCP grants at most this many seconds for the protocol (RFC 6887 §15 lets the server shorten a lifetime). */
  readonly pcpMaxLifetime?: Partial<Record<'TCP' | 'UDP', number>>;
}

const SERVICE = 'urn:schemas-upnp-org:service:WANIPConnection:1';
const CIF = 'urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1';
const MAX_BODY = 16 * 1024;

function description(): string {
  const service = (type: string, id: string, path: string): string =>
    `<service><serviceType>${type}</serviceType><serviceId>urn:upnp-org:serviceId:${id}</serviceId>` +
    `<SCPDURL>/${path}.xml</SCPDURL><controlURL>/ctl/${path}</controlURL><eventSubURL>/evt/${path}</eventSubURL></service>`;
  const device = (type: string, name: string, services: string, children = ''): string =>
    `<device><deviceType>urn:schemas-upnp-org:device:${type}:1</deviceType><friendlyName>${name}</friendlyName>` +
    `<manufacturer>test</manufacturer><modelName>${name}</modelName><UDN>uuid:00000000-0000-4000-8000-00000000000${name.length % 10}</UDN>` +
    `<serviceList>${services}</serviceList>${children === '' ? '' : `<deviceList>${children}</deviceList>`}</device>`;
  return (
    '<?xml version="1.0"?>\r\n<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>' +
    device(
      'InternetGatewayDevice',
      'test IGD',
      service('urn:schemas-microsoft-com:service:OSInfo:1', 'OSInfo1', 'OSInfo'),
      device('WANDevice', 'WAN device', service(CIF, 'WANCommonIFC1', 'CmnIfCfg'), device('WANConnectionDevice', 'WAN connection', service(SERVICE, 'WANIPConn1', 'IPConn'))),
    ) +
    '</root>\r\n'
  );
}

function soapReply(action: string, values: ReadonlyArray<readonly [string, string | number]>): string {
  const inner = values.map(([k, v]) => `<${k}>${v}</${k}>`).join('');
  return (
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action}Response xmlns:u="${SERVICE}">${inner}</u:${action}Response></s:Body></s:Envelope>\r\n`
  );
}

function soapFault(code: number, text: string): string {
  return (
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    '<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>' +
    `<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${text}</errorDescription></UPnPError>` +
    '</detail></s:Fault></s:Body></s:Envelope>\r\n'
  );
}

function arg(body: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];
}

function port(v: string | undefined): number | undefined {
  return v !== undefined && /^\d{1,5}$/.test(v) && Number(v) > 0 && Number(v) <= 0xffff ? Number(v) : undefined;
}

export async function startIgdResponder(opts: IgdResponderOptions): Promise<IgdResponder> {
  const host = '127.0.0.1';
  const external = opts.externalAddress ?? '192.0.2.7';
  const table = new Map<string, ResponderMapping>();
  const log: string[] = [];
  let start = opts.clock.now();
  const live = (): ResponderMapping[] => {
    for (const [k, m] of table) if (m.expires !== undefined && m.expires <= opts.clock.now()) table.delete(k);
    return [...table.values()];
  };

  const control = (action: string, body: string): { status: number; xml: string } => {
    const ok = (values: ReadonlyArray<readonly [string, string | number]> = []): { status: number; xml: string } => ({ status: 200, xml: soapReply(action, values) });
    const fail = (code: number, text: string): { status: number; xml: string } => ({ status: 500, xml: soapFault(code, text) });
    const protocol = arg(body, 'NewProtocol');
    const ext = port(arg(body, 'NewExternalPort'));
    switch (action) {
      case 'GetExternalIPAddress':
        return ok([['NewExternalIPAddress', external]]);
      case 'GetStatusInfo':
        return ok([['NewConnectionStatus', 'Connected'], ['NewLastConnectionError', 'ERROR_NONE'], ['NewUptime', Math.floor((opts.clock.now() - start) / 1000)]]);
      case 'GetConnectionTypeInfo':
        return ok([['NewConnectionType', 'IP_Routed'], ['NewPossibleConnectionTypes', 'IP_Routed']]);
      case 'AddPortMapping': {
        const internalPort = port(arg(body, 'NewInternalPort'));
        const client = arg(body, 'NewInternalClient') ?? '';
        const lease = Number(arg(body, 'NewLeaseDuration') ?? 'x');
        if ((protocol !== 'TCP' && protocol !== 'UDP') || ext === undefined || internalPort === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(client) || !Number.isInteger(lease) || lease < 0) {
          return fail(402, 'Invalid Args');
        }
        log.push(`AddPortMapping ${protocol} ${ext} ${lease}`);
        if (opts.onlyPermanent === true && lease !== 0) return fail(725, 'OnlyPermanentLeasesSupported');
        const key = `${protocol} ${ext}`;
        const held = live().find((m) => `${m.protocol} ${m.externalPort}` === key);
        if (held !== undefined && held.internalClient !== client) return fail(718, 'ConflictInMappingEntry');
        const expires = lease === 0 ? undefined : opts.clock.now() + lease * 1000;
        table.set(key, { protocol, externalPort: ext, internalClient: client, internalPort, description: arg(body, 'NewPortMappingDescription') ?? '', lease, expires, via: 'upnp' });
        return ok();
      }
      case 'DeletePortMapping': {
        log.push(`DeletePortMapping ${protocol} ${ext}`);
        live();
        return table.delete(`${protocol} ${ext}`) ? ok() : fail(714, 'NoSuchEntryInArray');
      }
      case 'GetSpecificPortMappingEntry': {
        const m = live().find((e) => e.protocol === protocol && e.externalPort === ext);
        if (m === undefined) return fail(714, 'NoSuchEntryInArray');
        return ok(entryValues(m, opts.clock.now()).slice(3));
      }
      case 'GetGenericPortMappingEntry': {
        const index = Number(arg(body, 'NewPortMappingIndex') ?? 'x');
        const m = live()[index];
        if (!Number.isInteger(index) || m === undefined) return fail(713, 'SpecifiedArrayIndexInvalid');
        return ok(entryValues(m, opts.clock.now()));
      }
      default:
        return fail(401, 'Invalid Action');
    }
  };

  const http: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      const send = (status: number, xml: string): void => {
        res.writeHead(status, { 'Content-Type': 'text/xml; charset="utf-8"', Connection: 'close' });
        res.end(xml);
      };
      if (req.method === 'GET' && req.url === '/rootDesc.xml') return send(200, description());
      if (req.method !== 'POST' || !req.url?.startsWith('/ctl/')) return send(404, '');
      const action = /#([A-Za-z]+)"?\s*$/.exec(String(req.headers.soapaction ?? ''))?.[1] ?? '';
      if (req.url !== '/ctl/IPConn') return send(500, soapFault(401, 'Invalid Action'));
      const r = control(action, Buffer.concat(chunks).toString('utf8'));
      send(r.status, r.xml);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, host, resolve));
  const httpPort = (http.address() as AddressInfo).port;
  const descriptionUrl = `http://${host}:${httpPort}/rootDesc.xml`;

  // SSDP: answer an M-SEARCH for the IGD (or ssdp:all) with the description's location.
  const ssdp: Socket = createSocket({ type: 'udp4' });
  ssdp.on('error', () => undefined);
  ssdp.on('message', (msg, rinfo) => {
    const text = msg.toString('latin1');
    const st = /^ST:\s*(.+)$/im.exec(text)?.[1]?.trim();
    if (!text.startsWith('M-SEARCH * HTTP/1.1') || st === undefined) return;
    if (st !== 'ssdp:all' && !/^urn:schemas-upnp-org:device:InternetGatewayDevice:[12]$/.test(st)) return;
    const reply = ['HTTP/1.1 200 OK', 'CACHE-CONTROL: max-age=120', 'EXT:', `LOCATION: ${descriptionUrl}`, 'SERVER: test/1 UPnP/1.1 test-igd/1', `ST: ${st}`, `USN: uuid:00000000-0000-4000-8000-000000000008::${st}`, '', ''].join('\r\n');
    ssdp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => ssdp.bind(0, host, resolve));

  // NAT-PMP (RFC 6886 §3.2–3.5).
  const pmp: Socket = createSocket({ type: 'udp4' });
  pmp.on('error', () => undefined);
  pmp.on('message', (msg, rinfo) => {
    const epoch = Math.floor((opts.clock.now() - start) / 1000);
    const header = (op: number, result: number, length: number): Buffer => {
      const b = Buffer.alloc(length);
      b[1] = op;
      b.writeUInt16BE(result, 2);
      b.writeUInt32BE(epoch, 4);
      return b;
    };
    if (msg.length < 2) return;
    if (msg[0] === 2 && opts.pcp === true) return void pmp.send(pcpAnswer(msg, rinfo.address, epoch), rinfo.port, rinfo.address);
    if (msg[0] !== 0) {
      log.push(`natpmp unsupported version ${msg[0]}`);
      return void pmp.send(header(128 + (msg[1] ?? 0), 1, 8), rinfo.port, rinfo.address);
    }
    const op = msg[1]!;
    if (op === 0 && msg.length === 2) {
      log.push('natpmp external-address');
      const b = header(128, 0, 12);
      external.split('.').forEach((x, i) => (b[8 + i] = Number(x)));
      return void pmp.send(b, rinfo.port, rinfo.address);
    }
    if ((op === 1 || op === 2) && msg.length === 12) {
      const protocol = op === 1 ? 'UDP' : 'TCP';
      const internalPort = msg.readUInt16BE(4);
      const suggested = msg.readUInt16BE(6);
      const lifetime = msg.readUInt32BE(8);
      log.push(`natpmp map ${protocol} ${internalPort} ${lifetime}`);
      const b = header(128 + op, 0, 16);
      b.writeUInt16BE(internalPort, 8);
      const key = `${protocol} natpmp ${internalPort}`;
      if (lifetime === 0) {
        table.delete(key);
      } else {
        const externalPort = suggested === 0 ? internalPort : suggested;
        table.set(key, { protocol, externalPort, internalClient: rinfo.address, internalPort, description: 'NAT-PMP', lease: lifetime, expires: opts.clock.now() + lifetime * 1000, via: 'natpmp' });
        b.writeUInt16BE(externalPort, 10);
        b.writeUInt32BE(lifetime, 12);
      }
      return void pmp.send(b, rinfo.port, rinfo.address);
    }
    pmp.send(header(128 + op, 5, 8), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => pmp.bind(0, host, resolve));

  // PCP MAP (RFC 6887 §11): a mapping is bound to its nonce, which a renewal or deletion repeats.
  const nonces = new Map<string, string>();
  function pcpAnswer(msg: Buffer, source: string, epoch: number): Buffer {
    const out = Buffer.alloc(60);
    out[0] = 2;
    out[1] = 0x80 | (msg[1] ?? 0);
    out.writeUInt32BE(epoch, 8);
    const answer = (result: number, lifetime = 0): Buffer => {
      out[3] = result;
      out.writeUInt32BE(lifetime, 4);
      return out;
    };
    if (msg.length !== 60 || msg[1] !== 1) return answer(msg.length < 24 ? 3 : 4).subarray(0, 24);
    msg.copy(out, 24, 24, 60);
    const client = `${msg[20]}.${msg[21]}.${msg[22]}.${msg[23]}`;
    if (client !== source || msg.readUInt16BE(18) !== 0xffff) return answer(12);
    const protocol = msg[36] === 6 ? 'TCP' : msg[36] === 17 ? 'UDP' : undefined;
    if (protocol === undefined) return answer(9);
    const internalPort = msg.readUInt16BE(40);
    const lifetime = Math.min(msg.readUInt32BE(4), opts.pcpMaxLifetime?.[protocol] ?? Infinity);
    const nonce = msg.subarray(24, 36).toString('hex');
    const key = `${protocol} pcp ${internalPort}`;
    log.push(`pcp map ${protocol} ${internalPort} ${lifetime}`);
    if (nonces.has(key) && nonces.get(key) !== nonce) return answer(2);
    if (lifetime === 0) {
      table.delete(key);
      nonces.delete(key);
      return answer(0);
    }
    const suggested = msg.readUInt16BE(42);
    const externalPort = suggested === 0 ? internalPort : suggested;
    nonces.set(key, nonce);
    table.set(key, { protocol, externalPort, internalClient: source, internalPort, description: 'PCP', lease: lifetime, expires: opts.clock.now() + lifetime * 1000, via: 'pcp' });
    out.writeUInt16BE(externalPort, 42);
    out.fill(0, 44, 54);
    out.writeUInt16BE(0xffff, 54);
    external.split('.').forEach((x, i) => (out[56 + i] = Number(x)));
    return answer(0, lifetime);
  }

  return {
    host,
    httpPort,
    ssdpPort: ssdp.address().port,
    natPmpPort: pmp.address().port,
    descriptionUrl,
    mappings: live,
    log,
    restart: () => {
      table.clear();
      nonces.clear();
      start = opts.clock.now();
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => ssdp.close(() => resolve()));
      await new Promise<void>((resolve) => pmp.close(() => resolve()));
    },
  };
}

/** The out-arguments of GetGenericPortMappingEntry (GetSpecificPortMappingEntry: from the 4th on). */
function entryValues(m: ResponderMapping, now: number): Array<[string, string | number]> {
  const left = m.expires === undefined ? 0 : Math.max(0, Math.ceil((m.expires - now) / 1000));
  return [
    ['NewRemoteHost', ''],
    ['NewExternalPort', m.externalPort],
    ['NewProtocol', m.protocol],
    ['NewInternalPort', m.internalPort],
    ['NewInternalClient', m.internalClient],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', m.description],
    ['NewLeaseDuration', left],
  ];
}
