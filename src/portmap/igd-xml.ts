/**
 * The XML of UPnP IGD (IGD 1/2, WANIPConnection 1/2, WANPPPConnection 1): find the WAN
 * connection service in a device description, build the SOAP requests we send, and read the
 * SOAP replies. No general XML parser: the few elements we need are found by name in bounded
 * text (`MAX_XML_BYTES`), with patterns that scan linearly, and everything else is ignored.
 */
import { PortMapError } from './errors.js';
import { descriptionUrl } from './ssdp.js';

export const MAX_XML_BYTES = 64 * 1024;
const MAX_SERVICES = 64;

/** WAN connection services that can map ports, best first. */
export const WAN_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

export interface WanService {
  readonly serviceType: string;
  /** Absolute, on the same host and port as the description. */
  readonly controlUrl: URL;
}

export type Protocol = 'TCP' | 'UDP';

function text(xml: Uint8Array | string): string {
  if (xml.length > MAX_XML_BYTES) throw new PortMapError('bad-xml', `XML of ${xml.length} bytes exceeds ${MAX_XML_BYTES}`);
  return typeof xml === 'string' ? xml : Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength).toString('utf8');
}

/** The text of the first element `name` (any namespace prefix), entities decoded. */
function element(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}(?:\\s[^<>]*)?>([^<]*)</(?:[A-Za-z_][\\w.-]*:)?${name}\\s*>`).exec(xml);
  return m === null ? undefined : unescapeXml(m[1]!.trim());
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * The best WAN connection service of a device description fetched from `location`. Its control
 * URL must stay on the description's host and port: a description cannot send us elsewhere.
 */
export function parseDescription(xml: Uint8Array | string, location: URL): WanService {
  const doc = text(xml);
  const base = element(doc, 'URLBase');
  const baseUrl = base !== undefined && base !== '' ? descriptionUrl(base) : location;
  const found: WanService[] = [];
  // Each block is found with indexOf from where the last ended: linear in the document.
  const open = /<([A-Za-z_][\w.-]*:)?service(?:\s[^<>]*)?>/g;
  let m: RegExpExecArray | null;
  for (let i = 0; i < MAX_SERVICES && (m = open.exec(doc)) !== null; i++) {
    const close = doc.indexOf(`</${m[1] ?? ''}service>`, open.lastIndex);
    if (close === -1) break;
    const block = doc.slice(open.lastIndex, close);
    open.lastIndex = close;
    const serviceType = element(block, 'serviceType');
    const control = element(block, 'controlURL');
    if (serviceType === undefined || control === undefined || !(WAN_SERVICES as readonly string[]).includes(serviceType)) continue;
    let controlUrl: URL;
    try {
      controlUrl = new URL(control, baseUrl);
    } catch {
      continue;
    }
    if (controlUrl.protocol !== 'http:' || controlUrl.host !== location.host || controlUrl.username !== '' || controlUrl.password !== '') continue;
    found.push({ serviceType, controlUrl });
  }
  found.sort((a, b) => WAN_SERVICES.indexOf(a.serviceType as (typeof WAN_SERVICES)[number]) - WAN_SERVICES.indexOf(b.serviceType as (typeof WAN_SERVICES)[number]));
  const best = found[0];
  if (best === undefined) throw new PortMapError('bad-xml', 'the device description has no WANIPConnection or WANPPPConnection service on its own host');
  return best;
}

export interface SoapRequest {
  readonly soapAction: string;
  readonly body: string;
}

function envelope(serviceType: string, action: string, args: ReadonlyArray<readonly [string, string | number]>): SoapRequest {
  const inner = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  const body =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${escapeXml(serviceType)}">${inner}</u:${action}></s:Body></s:Envelope>\r\n`;
  return { soapAction: `"${serviceType}#${action}"`, body };
}

export interface AddMapping {
  readonly protocol: Protocol;
  readonly externalPort: number;
  readonly internalPort: number;
  /** Our LAN address, as the router sees it. */
  readonly internalClient: string;
  readonly description: string;
  /** Seconds; 0 asks for a permanent mapping (for routers that only allow those). */
  readonly leaseSeconds: number;
}

export function addPortMappingRequest(serviceType: string, m: AddMapping): SoapRequest {
  return envelope(serviceType, 'AddPortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', m.externalPort],
    ['NewProtocol', m.protocol],
    ['NewInternalPort', m.internalPort],
    ['NewInternalClient', m.internalClient],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', m.description],
    ['NewLeaseDuration', m.leaseSeconds],
  ]);
}

export function deletePortMappingRequest(serviceType: string, protocol: Protocol, externalPort: number): SoapRequest {
  return envelope(serviceType, 'DeletePortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', externalPort],
    ['NewProtocol', protocol],
  ]);
}

export function externalIpRequest(serviceType: string): SoapRequest {
  return envelope(serviceType, 'GetExternalIPAddress', []);
}

export type SoapReply =
  | { readonly ok: true; readonly values: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly errorCode: number; readonly errorDescription: string };

/**
 * A SOAP reply: HTTP 200 with the action's response (the values of `names` that are present),
 * or a UPnP fault (HTTP 500, UPnPError `errorCode` and `errorDescription`).
 */
export function parseSoapReply(status: number, xml: Uint8Array | string, names: readonly string[]): SoapReply {
  const doc = text(xml);
  if (status === 200) {
    const values = new Map<string, string>();
    for (const n of names) {
      const v = element(doc, n);
      if (v !== undefined) values.set(n, v);
    }
    return { ok: true, values };
  }
  const code = element(doc, 'errorCode');
  if (code === undefined || !/^\d{1,4}$/.test(code)) throw new PortMapError('bad-soap', `SOAP reply with HTTP status ${status} and no UPnP error code`);
  const description = (element(doc, 'errorDescription') ?? '').replace(/[\p{Cc}\p{Cf}]/gu, '?').slice(0, 200);
  return { ok: false, errorCode: Number(code), errorDescription: description };
}
