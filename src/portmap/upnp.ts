/**
 * A UPnP IGD client: SSDP discovery (the M-SEARCH goes to the multicast group, or in tests to
 * one loopback address; only a reply from the gateway, pointing at the gateway, is taken), the
 * device description, and SOAP actions on the WAN connection service. Every wait is bounded
 * on the injected clock; every body read is bounded by `MAX_XML_BYTES`.
 */
import { type Socket, createSocket } from 'node:dgram';
import { request } from 'node:http';
import type { Clock } from '../util/clock.js';
import { PortMapError } from './errors.js';
import {
  MAX_XML_BYTES,
  type AddMapping,
  type Protocol,
  type SoapReply,
  type SoapRequest,
  type WanService,
  addPortMappingRequest,
  deletePortMappingRequest,
  externalIpRequest,
  parseDescription,
  parseSoapReply,
} from './igd-xml.js';
import { IGD_DEVICE, SSDP_GROUP, SSDP_PORT, type SsdpReply, encodeMSearch, parseSsdpReply } from './ssdp.js';

export interface SsdpTarget {
  readonly host: string;
  readonly port: number;
}

export interface DiscoverOptions {
  /** Only this address may answer, and the description must live on it. */
  readonly gateway: string;
  readonly clock: Clock;
  /** Default 3000 ms. */
  readonly timeoutMs?: number;
  /** Default the SSDP multicast group 239.255.255.250:1900. */
  readonly target?: SsdpTarget;
}

const IGD2_DEVICE = 'urn:schemas-upnp-org:device:InternetGatewayDevice:2';

/** M-SEARCH for IGD 1 and 2, resend once, and resolve with the gateway's first answer. */
export function discoverGateway(opts: DiscoverOptions): Promise<SsdpReply> {
  const target = opts.target ?? { host: SSDP_GROUP, port: SSDP_PORT };
  const socket: Socket = createSocket({ type: 'udp4' });
  return new Promise<SsdpReply>((resolve, reject) => {
    const timers = [
      opts.clock.setTimeout(() => finish(new PortMapError('timeout', `no UPnP gateway answered at ${opts.gateway}`)), opts.timeoutMs ?? 3000),
      opts.clock.setTimeout(() => search(), 1000),
    ];
    let done = false;
    const finish = (result: SsdpReply | Error): void => {
      if (done) return;
      done = true;
      for (const t of timers) t.cancel();
      socket.close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const search = (): void => {
      if (done) return;
      for (const st of [IGD_DEVICE, IGD2_DEVICE]) socket.send(encodeMSearch(st), target.port, target.host, () => undefined);
    };
    socket.on('error', (err) => finish(new PortMapError('ssdp-failed', `SSDP: ${err.message}`)));
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== opts.gateway) return;
      try {
        const reply = parseSsdpReply(msg);
        if (reply.location.hostname === opts.gateway) finish(reply);
      } catch {
        // a malformed answer is ignored; another may follow
      }
    });
    socket.bind(0, () => {
      // Multicast stays on the local link (UDA 1.1 recommends a TTL of 2; 1 is enough here).
      if (target.host === SSDP_GROUP) socket.setMulticastTTL(2);
      search();
    });
  });
}

interface HttpReply {
  readonly status: number;
  readonly body: Buffer;
  /** Our address on the connection: the LAN address the router sees. */
  readonly localAddress: string;
}

function http(url: URL, clock: Clock, timeoutMs: number, soap?: SoapRequest): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const body = soap === undefined ? undefined : Buffer.from(soap.body, 'utf8');
    const headers: Record<string, string | number> =
      soap === undefined || body === undefined
        ? {}
        : { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: soap.soapAction, 'Content-Length': body.length };
    const req = request(url, { method: soap === undefined ? 'GET' : 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_XML_BYTES) req.destroy(new PortMapError('bad-xml', `reply from ${url.host} exceeds ${MAX_XML_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        timer.cancel();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), localAddress: res.socket?.localAddress ?? '' });
      });
      res.on('error', () => undefined);
    });
    const timer = clock.setTimeout(() => req.destroy(new PortMapError('timeout', `no HTTP answer from ${url.host}`)), timeoutMs);
    req.on('error', (err) => {
      timer.cancel();
      reject(err instanceof PortMapError ? err : new PortMapError('http-failed', `${url.host}: ${err.message}`));
    });
    req.end(body);
  });
}

export interface UpnpClientOptions {
  readonly clock: Clock;
  /** Per HTTP exchange. Default 5000 ms. */
  readonly timeoutMs?: number;
}

/** The WAN connection service of one gateway, found from its description URL. */
export class UpnpClient {
  private constructor(
    readonly service: WanService,
    /** Our LAN address as the gateway sees it (the `NewInternalClient` of our mappings). */
    readonly localAddress: string,
    private readonly opts: UpnpClientOptions,
  ) {}

  static async fromDescription(location: URL, opts: UpnpClientOptions): Promise<UpnpClient> {
    const reply = await http(location, opts.clock, opts.timeoutMs ?? 5000);
    if (reply.status !== 200) throw new PortMapError('bad-xml', `device description answered HTTP ${reply.status}`);
    return new UpnpClient(parseDescription(reply.body, location), reply.localAddress.replace(/^::ffff:/, ''), opts);
  }

  async externalAddress(): Promise<string> {
    const r = await this.call(externalIpRequest(this.service.serviceType), ['NewExternalIPAddress']);
    const address = r.values.get('NewExternalIPAddress');
    if (address === undefined || address === '') throw new PortMapError('upnp-error', 'the gateway has no external address');
    return address;
  }

  async addMapping(m: Omit<AddMapping, 'internalClient'>): Promise<void> {
    await this.call(addPortMappingRequest(this.service.serviceType, { ...m, internalClient: this.localAddress }), []);
  }

  async deleteMapping(protocol: Protocol, externalPort: number): Promise<void> {
    await this.call(deletePortMappingRequest(this.service.serviceType, protocol, externalPort), []);
  }

  private async call(soap: SoapRequest, names: readonly string[]): Promise<Extract<SoapReply, { ok: true }>> {
    const reply = await http(this.service.controlUrl, this.opts.clock, this.opts.timeoutMs ?? 5000, soap);
    const parsed = parseSoapReply(reply.status, reply.body, names);
    if (!parsed.ok) throw new UpnpFault(parsed.errorCode, parsed.errorDescription);
    return parsed;
  }
}

/** A UPnP error reply (UPnP-arch-DeviceArchitecture §3.2.2; IGD codes such as 718, 725). */
export class UpnpFault extends PortMapError {
  constructor(
    readonly upnpCode: number,
    description: string,
  ) {
    super('upnp-error', `UPnP error ${upnpCode}${description === '' ? '' : ` (${description})`}`);
  }
}
