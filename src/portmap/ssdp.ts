/**
 * SSDP discovery of an Internet Gateway Device (UPnP Device Architecture 1.1, §1.3): the
 * M-SEARCH request we multicast to 239.255.255.250:1900, and the parser for the unicast HTTP
 * replies. Replies come from any host on the LAN, so the parser is strict and bounded: at most
 * `MAX_SSDP_PACKET` bytes and `MAX_SSDP_HEADERS` header lines, and a LOCATION that is a plain
 * http URL whose host is an IPv4 literal.
 */
import { isIPv4 } from 'node:net';
import { PortMapError } from './errors.js';

export const SSDP_GROUP = '239.255.255.250';
export const SSDP_PORT = 1900;
export const IGD_DEVICE = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
export const MAX_SSDP_PACKET = 2048;
export const MAX_SSDP_HEADERS = 32;

export interface SsdpReply {
  /** The device description URL. */
  readonly location: URL;
  /** The search target the device answered for. */
  readonly st: string;
  readonly usn: string;
  readonly server: string;
}

/** An M-SEARCH for `st`; `mx` (1–5 s) is how long devices may wait before answering. */
export function encodeMSearch(st: string = IGD_DEVICE, mx = 2): Uint8Array {
  const text = ['M-SEARCH * HTTP/1.1', `HOST: ${SSDP_GROUP}:${SSDP_PORT}`, 'MAN: "ssdp:discover"', `MX: ${Math.min(5, Math.max(1, Math.trunc(mx)))}`, `ST: ${st}`, '', ''].join('\r\n');
  return Buffer.from(text, 'latin1');
}

/** Parses a search reply (`HTTP/1.1 200 OK`); throws `PortMapError` `bad-ssdp` for anything else. */
export function parseSsdpReply(packet: Uint8Array): SsdpReply {
  if (packet.length > MAX_SSDP_PACKET) throw new PortMapError('bad-ssdp', `SSDP reply of ${packet.length} bytes exceeds ${MAX_SSDP_PACKET}`);
  const lines = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength).toString('latin1').split('\r\n');
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? '')) throw new PortMapError('bad-ssdp', 'SSDP reply is not HTTP/1.x 200');
  const headers = new Map<string, string>();
  let count = 0;
  for (const line of lines.slice(1)) {
    if (line === '') break;
    if (++count > MAX_SSDP_HEADERS) throw new PortMapError('bad-ssdp', `SSDP reply has more than ${MAX_SSDP_HEADERS} headers`);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new PortMapError('bad-ssdp', 'SSDP header line without a name');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  const raw = headers.get('location');
  if (raw === undefined || raw === '') throw new PortMapError('bad-ssdp', 'SSDP reply without LOCATION');
  return { location: descriptionUrl(raw), st: headers.get('st') ?? '', usn: headers.get('usn') ?? '', server: headers.get('server') ?? '' };
}

/** A description or control URL we may fetch: http, an IPv4 literal host, no credentials. */
export function descriptionUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PortMapError('bad-ssdp', 'LOCATION is not a URL');
  }
  if (url.protocol !== 'http:' || !isIPv4(url.hostname) || url.username !== '' || url.password !== '') {
    throw new PortMapError('bad-ssdp', 'LOCATION must be an http URL on an IPv4 address');
  }
  return url;
}
